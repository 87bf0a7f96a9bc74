// MemoryWiring: builds character memory from the [memory] config: the compute pool, the embedder
// (glove by default, from memory.glove_path or the build's default file; openai on request), the
// vector engine (LocalVectorEngine with segment files under DATA/memory-index; the plain
// ExactVectorEngine if it cannot start) and the MemoryService. A missing GloVe file or a failing
// embedder is logged and memory runs keyword-only; it never stops the server from starting.
// Several nodes on one store: the segment files stay node-local; connect() publishes each space
// this node changes as a "memory.space" control message and drops the spaces other nodes changed.
// Thread-safety: open() and the destructor on the main thread; the service is then shared.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "core/Clock.h"
#include "core/Config.h"
#include "core/Metrics.h"
#include "memory/Embedder.h"
#include "memory/Memory.h"
#include "memory/VectorEngine.h"
#include "store/MemoryStore.h"
#include "sync/EventBus.h"

namespace troupe::memory {
class MemoryServiceImpl;
}

namespace troupe::app {

class MemoryWiring {
 public:
  static constexpr const char* kSpaceTopic = "memory.space";

  // `shared_store`: other nodes may write the store (PostgreSQL), so segment files left from an
  // earlier run may be stale and are deleted before the engine starts.
  static std::unique_ptr<MemoryWiring> open(const Config& config, store::MemoryStore& store,
                                            boost::asio::thread_pool& db_pool, const Clock& clock,
                                            MetricsRegistry* metrics, bool shared_store = false);
  ~MemoryWiring();
  // Cross-node invalidation, only when bus.shared(): payload "<node token> <space>"; a node skips
  // its own messages. `bus` must outlive shutdown().
  void connect(sync::EventBus& bus);
  memory::MemoryService* service() { return service_.get(); }
  // Drops the engine's resident indexes that are not hot (memory budget's soft mark).
  void trim();
  // Stops the engine's pool (pending searches end `unavailable`) and the compute pool.
  void shutdown();

 private:
  MemoryWiring() = default;
  std::unique_ptr<boost::asio::thread_pool> compute_;
  std::unique_ptr<memory::Embedder> embedder_;
  std::unique_ptr<memory::VectorEngine> engine_;
  std::unique_ptr<memory::MemoryService> service_;
  memory::MemoryServiceImpl* impl_ = nullptr;  // service_
  sync::EventBus* bus_ = nullptr;
  std::uint64_t sub_ = 0;
  Counter* received_ = nullptr;
  MetricsRegistry* metrics_ = nullptr;
};

}  // namespace troupe::app
