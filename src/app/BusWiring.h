// BusWiring: builds the event bus named by bus.url — the in-process bus ("", one node) or the
// Redis bus ("redis://host:port", several nodes) — and, for Redis, the one I/O thread that drives
// its two connections, and the chat leases of generations across nodes (RedisChatLeases, on the
// bus's command connection; none with the in-process bus). health() says why the bus is degraded ("" when it is fine) for /readyz.
// Thread-safety: open() and the destructor on the main thread; bus(), health() and the metrics
// from any thread.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "core/Config.h"
#include "core/Metrics.h"
#include "core/Result.h"
#include "core/TaskRegistry.h"
#include "sync/ChatLeases.h"
#include "sync/EventBus.h"

namespace troupe::sync::redis {
class RedisBus;
class RedisChatLeases;
}

namespace troupe::sync {
class InProcessBus;
}

namespace troupe::app {

class BusWiring {
 public:
  // Fails (bad_request) only on a malformed bus.url; an unreachable Redis is not an error (the
  // bus starts degraded and reconnects with backoff).
  static Result<std::unique_ptr<BusWiring>> open(const Config& config, TaskRegistry& tasks,
                                                 sync::SeqAllocator& seq);
  ~BusWiring();

  sync::EventBus& bus() { return *bus_; }
  // Chat leases shared by the nodes; null with the in-process bus (single node).
  sync::ChatLeases* leases();
  // The bus's own I/O thread (valid when leases() is not null).
  boost::asio::any_io_executor executor() { return io_.get_executor(); }
  const char* name() const { return redis_ ? "redis" : "in-process"; }
  // "" while the bus is usable by every node; otherwise e.g. "bus degraded: redis degraded".
  std::string health() const;
  void register_metrics(MetricsRegistry& metrics);

 private:
  BusWiring() = default;
  // Declared before bus_: the Redis bus is destroyed while its thread still runs.
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
  std::thread thread_;
  std::unique_ptr<sync::EventBus> bus_;
  sync::redis::RedisBus* redis_ = nullptr;  // bus_ when it is the Redis bus
  sync::InProcessBus* local_ = nullptr;     // bus_ when it is the in-process bus
  std::unique_ptr<sync::redis::RedisChatLeases> leases_;  // destroyed before bus_
};

}  // namespace troupe::app
