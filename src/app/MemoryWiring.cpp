#include "app/MemoryWiring.h"

#include <spdlog/spdlog.h>
#include <thread>

#include "memory/embed/GloveEmbedder.h"
#include "memory/service/ExactVectorEngine.h"
#include "memory/service/MemoryServiceImpl.h"

namespace troupe::app {

namespace {

std::unique_ptr<memory::Embedder> make_embedder(const MemoryConfig& c) {
  if (c.embedder == "glove") {
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
  spdlog::warn("memory: embedder '{}' is not available in this build; memory retrieval is "
               "keyword-only", c.embedder);
  return nullptr;
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
  if (c.enabled) w->embedder_ = make_embedder(c);
  if (w->embedder_) {
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
    w->engine_ = std::make_unique<memory::ExactVectorEngine>(dims, std::move(loader), *w->compute_);
  }
  w->service_ = std::make_unique<memory::MemoryServiceImpl>(memory::MemoryServiceParts{
      c, store, db_pool, *w->compute_, w->embedder_.get(), w->engine_.get(), clock, metrics});
  return w;
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
