#include "app/MemoryWiring.h"

#include <filesystem>
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

}  // namespace

std::unique_ptr<MemoryWiring> MemoryWiring::open(const Config& config, store::MemoryStore& store,
                                                 boost::asio::thread_pool& db_pool,
                                                 const Clock& clock, MetricsRegistry* metrics) {
  std::unique_ptr<MemoryWiring> w(new MemoryWiring());
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
  w->service_ = std::make_unique<memory::MemoryServiceImpl>(memory::MemoryServiceParts{
      c, store, db_pool, *w->compute_, w->embedder_.get(), w->engine_.get(), clock, metrics});
  return w;
}

void MemoryWiring::trim() {
  if (engine_) engine_->trim();
}

void MemoryWiring::shutdown() {
  if (engine_) engine_->shutdown();
  if (compute_) compute_->join();
}

MemoryWiring::~MemoryWiring() {
  shutdown();
  service_.reset();
  engine_.reset();
}

}  // namespace troupe::app
