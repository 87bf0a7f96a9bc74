// MemoryWiring: builds character memory from the [memory] config: the compute pool, the embedder
// (glove by default, from memory.glove_path or the build's default file; openai on request), the
// vector engine (LocalVectorEngine with segment files under DATA/memory-index; the plain
// ExactVectorEngine if it cannot start) and the MemoryService. A missing GloVe file or a failing
// embedder is logged and memory runs keyword-only; it never stops the server from starting.
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

namespace troupe::app {

class MemoryWiring {
 public:
  static std::unique_ptr<MemoryWiring> open(const Config& config, store::MemoryStore& store,
                                            boost::asio::thread_pool& db_pool, const Clock& clock,
                                            MetricsRegistry* metrics);
  ~MemoryWiring();
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
};

}  // namespace troupe::app
