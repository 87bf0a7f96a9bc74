#include "app/BusWiring.h"

#include <pthread.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "sync/InProcessBus.h"
#include "sync/redis/RedisBus.h"
#include "sync/redis/RedisChatLeases.h"

namespace troupe::app {

Result<std::unique_ptr<BusWiring>> BusWiring::open(const Config& config, TaskRegistry& tasks,
                                                   sync::SeqAllocator& seq) {
  std::unique_ptr<BusWiring> w(new BusWiring());
  const std::string& url = config.bus.url;
  if (url.empty() || url == "in-process") {
    sync::InProcessBusOptions bo;
    bo.replay_events = config.generation.replay_events;
    bo.subscriber_queue = config.server.subscriber_queue;
    auto bus = std::make_unique<sync::InProcessBus>(seq, bo);
    w->local_ = bus.get();
    w->bus_ = std::move(bus);
    return w;
  }
  auto ep = sync::redis::RedisEndpoint::parse(url);
  if (!ep.ok()) {
    return make_error(Errc::bad_request, "bus.url \"" + url + "\": " + ep.error().message);
  }
  sync::redis::RedisBusOptions ro;
  ro.connection.endpoint = *ep;
  ro.subscriber_queue = config.server.subscriber_queue;
  w->guard_.emplace(w->io_.get_executor());
  w->thread_ = std::thread([io = &w->io_] {
    pthread_setname_np(pthread_self(), "troupe-bus");
    io->run();
  });
  const std::string key_prefix = ro.key_prefix;  // the leases' keys share the bus's prefix
  auto bus = std::make_unique<sync::redis::RedisBus>(w->io_.get_executor(), tasks, seq, std::move(ro));
  w->redis_ = bus.get();
  sync::redis::RedisChatLeasesOptions lo;
  lo.key_prefix = key_prefix;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  lo.owner = std::string(host) + ":" + std::to_string(::getpid());
  // Below ~100 ms a renewal round trip under load could outlast the lease.
  lo.ttl = std::chrono::milliseconds(std::max<std::uint32_t>(config.bus.lock_ttl_ms, 100));
  lo.max_hold = std::chrono::milliseconds(config.generation.max_duration_ms) + 2 * lo.ttl;
  w->leases_ = std::make_unique<sync::redis::RedisChatLeases>(w->io_.get_executor(), tasks,
                                                              bus->commands(), std::move(lo));
  w->bus_ = std::move(bus);
  return w;
}

sync::ChatLeases* BusWiring::leases() { return leases_.get(); }

BusWiring::~BusWiring() {
  leases_.reset();
  bus_.reset();  // the Redis bus stops its connections on its own thread
  guard_.reset();
  if (thread_.joinable()) {
    io_.stop();
    thread_.join();
  }
}

std::string BusWiring::health() const {
  if (!redis_) return {};
  auto st = redis_->state();
  if (st == sync::redis::RedisState::connected) return {};
  return "bus degraded: redis " + std::string(sync::redis::redis_state_name(st));
}

void BusWiring::register_metrics(MetricsRegistry& metrics) {
  if (auto* l = local_) {
    metrics.collect("troupe_bus_retained_events", "Events held by the chats' replay windows (in-process bus).", [l] {
      return std::vector<std::pair<MetricsRegistry::Labels, double>>{{{}, double(l->retained_events())}};
    });
    metrics.collect("troupe_bus_streams", "Chat event streams the in-process bus keeps (live and idle).", [l] {
      return std::vector<std::pair<MetricsRegistry::Labels, double>>{{{}, double(l->stream_count())}};
    });
  }
  if (!redis_) return;
  auto* r = redis_;
  metrics.collect("troupe_bus_state", "Redis bus state: 1 for the current state (connecting, connected, degraded, stopped).", [r] {
    using sync::redis::RedisState;
    std::vector<std::pair<MetricsRegistry::Labels, double>> out;
    const auto cur = r->state();
    for (auto st : {RedisState::connecting, RedisState::connected, RedisState::degraded, RedisState::stopped}) {
      out.push_back({{{"state", std::string(sync::redis::redis_state_name(st))}}, cur == st ? 1.0 : 0.0});
    }
    return out;
  });
  if (auto* l = leases_.get()) {
    metrics.collect("troupe_chat_leases_held", "Chat generation leases this node holds now.", [l] {
      return std::vector<std::pair<MetricsRegistry::Labels, double>>{{{}, double(l->held_count())}};
    });
  }
  metrics.collect("troupe_bus_reconnects", "Reconnections of the Redis bus's connections since start.", [r] {
    return std::vector<std::pair<MetricsRegistry::Labels, double>>{{{}, double(r->reconnects())}};
  });
}

}  // namespace troupe::app
