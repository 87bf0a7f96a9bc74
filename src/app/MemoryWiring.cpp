#include "app/MemoryWiring.h"

#include <charconv>
#include <filesystem>
#include <random>
#include <spdlog/spdlog.h>
#include <thread>

#include "memory/embed/GloveEmbedder.h"
#include "memory/embed/OpenAiEmbedder.h"
#include "memory/engine/LocalVectorEngine.h"
#include "memory/index/Kernels.h"
#include "memory/service/ExactVectorEngine.h"
#include "memory/service/MemoryServiceImpl.h"

namespace troupe::app {

namespace {

std::unique_ptr<memory::Embedder> make_embedder(const MemoryConfig& c, const Clock& clock) {
  if (c.embedder == "openai") {
    memory::OpenAiEmbedderOptions o;
    o.base_url = c.openai_url;
    o.api_key = c.openai_api_key;
    o.model = c.openai_model;
    o.timeout_ms = static_cast<int>(c.openai_timeout_ms);
    o.batch = c.openai_batch;
    o.breaker = CircuitBreakerOptions{std::max(1, c.breaker_failures),
                                      std::max<std::int64_t>(1, c.breaker_open_ms)};
    auto e = memory::OpenAiEmbedder::create(o, clock);
    if (!e.ok()) {
      spdlog::warn("memory: openai embedder not usable ({}); memory retrieval is keyword-only",
                   e.error().message);
      return nullptr;
    }
    if (auto p = (*e)->probe(); !p.ok()) {
      spdlog::warn("memory: embeddings endpoint {} did not answer ({}); memory retrieval is "
                   "keyword-only", c.openai_url, p.error().message);
      return nullptr;
    }
    return std::move(e).value();
  }
  if (c.embedder != "glove") {
    spdlog::warn("memory: unknown embedder '{}'; memory retrieval is keyword-only", c.embedder);
    return nullptr;
  }
  std::string path = c.glove_path;
#ifdef TROUPE_DEFAULT_GLOVE_PATH
  if (path.empty()) path = TROUPE_DEFAULT_GLOVE_PATH;
#endif
  auto e = memory::GloveEmbedder::open(path);
  if (!e.ok()) {
    spdlog::warn("memory: GloVe vectors not usable ({}: {}); memory retrieval is keyword-only "
                 "(run scripts/prepare-glove or set memory.glove_path)",
                 path, e.error().message);
    return nullptr;
  }
  spdlog::info("memory: embedder {} ({} dims) from {}", (*e)->info().name, (*e)->info().dims, path);
  return std::move(e).value();
}

// Segment files written before this start may miss changes other nodes made meanwhile.
void delete_segments(const std::filesystem::path& dir) {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("space-", 0) == 0 && it->path().extension() == ".seg") {
      std::error_code rec;
      if (std::filesystem::remove(it->path(), rec)) ++n;
    }
  }
  if (n > 0) spdlog::info("memory: deleted {} index files from an earlier run (shared store)", n);
}

}  // namespace

std::unique_ptr<MemoryWiring> MemoryWiring::open(const Config& config, store::MemoryStore& store,
                                                 boost::asio::thread_pool& db_pool,
                                                 const Clock& clock, MetricsRegistry* metrics,
                                                 bool shared_store) {
  std::unique_ptr<MemoryWiring> w(new MemoryWiring());
  w->metrics_ = metrics;
  const MemoryConfig& c = config.memory;
  int threads = c.compute_threads > 0 ? c.compute_threads
                                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  w->compute_ = std::make_unique<boost::asio::thread_pool>(threads);
  if (c.enabled) w->embedder_ = make_embedder(c, clock);
  if (w->embedder_) {
    // Searches run on our own bounded compute pool: OpenBLAS must not start threads of its own
    // (its default is one per core, which turns every small GEMM into a futex storm).
    spdlog::info("memory: SIMD {}; OpenBLAS {}", memory::kernels::simd_level(),
                 memory::kernels::configure_openblas());
    const int dims = w->embedder_->info().dims;
    const std::string name = w->embedder_->info().name;
    memory::SpaceLoader loader = [&store, name, dims](memory::SpaceId space) -> Result<memory::SpaceVectors> {
      memory::SpaceVectors out;
      std::vector<store::Id> ids;
      auto s = store.load_space(static_cast<std::int64_t>(space), name, ids, out.vectors, dims);
      if (!s.ok()) return s.error();
      out.ids.assign(ids.begin(), ids.end());
      return out;
    };
    memory::EngineOptions o;
    o.dir = (std::filesystem::path(config.store.data_dir) / "memory-index").string();
    if (shared_store) delete_segments(o.dir);
    o.embedder_name = name;
    o.dims = dims;
    o.threads = c.compute_threads;
    o.max_queue = c.max_queue;
    o.batch_window_us = c.batch_window_us;
    o.batch_max = c.batch_max;
    o.int8_threshold = c.int8_threshold;
    o.hnsw_threshold = c.hnsw_threshold;
    o.index_override = c.index_override;
    o.hnsw_m = c.hnsw_m;
    o.hnsw_ef_construction = c.hnsw_ef_construction;
    o.hnsw_ef_search = c.hnsw_ef_search;
    o.hnsw_int8 = c.hnsw_int8;
    o.ivf_nlist = c.ivf_nlist;
    o.ivf_nprobe = c.ivf_nprobe;
    o.int8_rerank = c.int8_rerank;
    o.resident_spaces = c.resident_spaces;
    o.lru_k = c.lru_k;
    o.loader = loader;
    auto engine = std::make_unique<memory::LocalVectorEngine>(std::move(o));
    if (auto s = engine->start(); s.ok()) {
      if (metrics) {
        auto* e = engine.get();
        metrics->collect("troupe_memory_engine", "Vector engine figures (queue depth, resident and known spaces).", [e] {
          auto st = e->stats();
          return std::vector<std::pair<MetricsRegistry::Labels, double>>{
              {{{"figure", "queue_depth"}}, double(st.queue_depth)},
              {{{"figure", "resident_spaces"}}, double(st.resident)},
              {{{"figure", "spaces"}}, double(st.spaces)}};
        });
      }
      w->engine_ = std::move(engine);
    } else {
      spdlog::warn("memory: vector engine did not start ({}); using the plain exact engine",
                   s.error().message);
      w->engine_ = std::make_unique<memory::ExactVectorEngine>(dims, std::move(loader), *w->compute_);
    }
  }
  auto impl = std::make_unique<memory::MemoryServiceImpl>(memory::MemoryServiceParts{
      c, store, db_pool, *w->compute_, w->embedder_.get(), w->engine_.get(), clock, metrics});
  w->impl_ = impl.get();
  w->service_ = std::move(impl);
  return w;
}

void MemoryWiring::connect(sync::EventBus& bus) {
  if (!bus.shared() || bus_) return;
  bus_ = &bus;
  if (metrics_) {
    received_ = &metrics_->counter("troupe_memory_invalidations_total",
                                   "Memory spaces dropped because another node changed them.");
  }
  std::random_device rd;
  const std::string token = std::to_string((std::uint64_t(rd()) << 32) | rd());
  impl_->on_space_changed([&bus, token](std::int64_t space) {
    bus.publish_control(kSpaceTopic, token + " " + std::to_string(space));
  });
  sub_ = bus.subscribe_control(kSpaceTopic, [this, token](const std::string& payload) {
    const auto sp = payload.find(' ');
    if (sp == std::string::npos || payload.compare(0, sp, token) == 0) return;  // ours or malformed
    std::int64_t space = 0;
    const char* b = payload.data() + sp + 1;
    const char* e = payload.data() + payload.size();
    auto [end, ec] = std::from_chars(b, e, space);
    if (ec != std::errc() || end != e) {
      spdlog::warn("memory: ignored a malformed {} message", kSpaceTopic);
      return;
    }
    impl_->invalidate_space(space);
    if (received_) received_->inc();
  });
}

void MemoryWiring::trim() {
  if (engine_) engine_->trim();
}

void MemoryWiring::shutdown() {
  if (bus_) {
    bus_->unsubscribe_control(sub_);
    bus_ = nullptr;
  }
  if (engine_) engine_->shutdown();
  if (compute_) compute_->join();
}

MemoryWiring::~MemoryWiring() {
  shutdown();
  service_.reset();
  engine_.reset();
}

}  // namespace troupe::app
