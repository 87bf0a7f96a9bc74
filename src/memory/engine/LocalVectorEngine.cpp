#include "memory/engine/LocalVectorEngine.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "memory/engine/SpaceSnapshot.h"
#include "memory/index/IndexFactory.h"
#include "memory/index/SegmentFile.h"

namespace troupe::memory {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct LocalVectorEngine::Counters {
  std::atomic<std::uint64_t> searches{0}, batches{0}, batched_queries{0}, timeouts{0}, rejected{0},
      cancelled{0}, errors{0}, loads_from_file{0}, loads_from_store{0}, segment_rejected{0},
      compactions{0}, evictions{0};
  std::atomic<std::size_t> queued{0};
};

// Type-erased, move-only completion handler of one search.
struct ResumeBase {
  virtual ~ResumeBase() = default;
  virtual void resume(std::shared_ptr<LocalVectorEngine::Request> r) = 0;
};
template <class H>
struct Resume final : ResumeBase {
  explicit Resume(H h) : handler(std::move(h)) {}
  void resume(std::shared_ptr<LocalVectorEngine::Request> r) override { std::move(handler)(std::move(r)); }
  H handler;
};

struct LocalVectorEngine::Request : std::enable_shared_from_this<LocalVectorEngine::Request> {
  std::shared_ptr<Space> sp;
  std::vector<float> query;
  std::size_t k = 0;
  Clock::time_point deadline;
  std::shared_ptr<Counters> c;
  std::mutex mu;  // guards the fields below
  std::unique_ptr<ResumeBase> handler;  // empty once completed
  std::optional<asio::any_io_executor> work;  // the awaiting coroutine's executor (work tracked)
  std::optional<Result<std::vector<Hit>>> result;
  std::unique_ptr<asio::steady_timer> timer;  // deadline, on the pool
};

struct LocalVectorEngine::Space {
  Space(SpaceId i, int dims, asio::thread_pool& pool)
      : id(i), snap(std::make_shared<SpaceSnapshot>(dims)), batch_timer(pool) {}
  std::shared_ptr<const SpaceSnapshot> get() {
    std::lock_guard l(snap_mu);
    return snap;
  }
  void set(std::shared_ptr<const SpaceSnapshot> s) {
    if (s->loaded()) {
      last_size = s->size();
      last_kind = static_cast<int>(s->base()->kind());
      last_bytes = s->memory_bytes();
    }
    std::lock_guard l(snap_mu);
    snap = std::move(s);
  }

  const SpaceId id;
  std::mutex snap_mu;
  std::shared_ptr<const SpaceSnapshot> snap;  // never null
  std::mutex write_mu;                        // writers and snapshot installs
  bool compacting = false;                    // guarded by write_mu
  bool file_clean = false;                    // segment file matches the store; write_mu
  std::mutex load_mu;                         // one loader at a time
  std::mutex batch_mu;
  std::vector<std::shared_ptr<Request>> pending;  // batch_mu
  bool armed = false;                             // batch_mu
  asio::steady_timer batch_timer;                 // batch_mu
  std::atomic<bool> dropped{false};
  std::atomic<int> last_kind{0};
  std::atomic<std::size_t> last_size{0}, last_bytes{0};
};

namespace {

// Completes a request once (whoever comes first: the batch, its deadline, cancellation or
// shutdown). Only the request (shared) is touched, never the awaiting coroutine's frame; the
// handler resumes on the coroutine's own executor.
void complete(const std::shared_ptr<LocalVectorEngine::Request>& req, Result<std::vector<Hit>> r);

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

namespace {
void complete(const std::shared_ptr<LocalVectorEngine::Request>& req, Result<std::vector<Hit>> r) {
  std::unique_ptr<ResumeBase> h;
  std::optional<asio::any_io_executor> ex;
  {
    std::lock_guard l(req->mu);
    if (!req->handler) return;
    h = std::move(req->handler);
    ex = std::move(req->work);
    req->work.reset();
    if (!r.ok()) {
      if (r.error().code == Errc::timeout) ++req->c->timeouts;
      else if (r.error().code == Errc::cancelled) ++req->c->cancelled;
      else if (r.error().code == Errc::unavailable) ++req->c->rejected;
      else ++req->c->errors;
    }
    req->result.emplace(std::move(r));
    // Drop everything bound to the pool (the deadline timer is cancelled by its destruction), so
    // a completed request may outlive the engine.
    req->timer.reset();
    req->sp.reset();
  }
  --req->c->queued;
  asio::post(*ex, [h = std::move(h), req]() mutable { h->resume(req); });
}
}  // namespace

LocalVectorEngine::LocalVectorEngine(EngineOptions opt)
    : opt_(std::move(opt)),
      pool_(static_cast<std::size_t>(
          opt_.threads > 0 ? opt_.threads : std::max(1u, std::thread::hardware_concurrency()))),
      lru_(opt_.lru_k),
      c_(std::make_shared<Counters>()) {
  opt_.batch_window_us = std::min<std::uint32_t>(opt_.batch_window_us, 1000);
  opt_.batch_max = std::clamp<std::size_t>(opt_.batch_max, 1, 1024);
  opt_.resident_spaces = std::max<std::size_t>(opt_.resident_spaces, 1);
}

LocalVectorEngine::~LocalVectorEngine() { shutdown(); }

std::string LocalVectorEngine::segment_path(SpaceId id) const {
  return opt_.dir.empty() ? std::string() : opt_.dir + "/space-" + std::to_string(id) + ".seg";
}

Status LocalVectorEngine::start() {
  if (opt_.dims <= 0 || opt_.dims > 65536) return make_error(Errc::bad_request, "vector engine: bad dims");
  if (opt_.dir.empty()) return {};
  std::error_code ec;
  fs::create_directories(opt_.dir, ec);
  if (ec) return make_error(Errc::internal, "vector engine: cannot create " + opt_.dir);
  std::vector<SpaceId> warm;
  {
    std::ifstream in(opt_.dir + "/access-history");
    std::stringstream text;
    text << in.rdbuf();
    std::lock_guard l(mu_);
    lru_ = LruK::parse(opt_.lru_k, text.str());
    warm = lru_.ranked();
  }
  if (warm.size() > opt_.resident_spaces) warm.resize(opt_.resident_spaces);
  for (SpaceId id : warm) {
    auto sp = space(id, true);
    asio::post(pool_, [this, sp] {
      try {
        if (!closing_) (void)ensure_loaded(sp);
      } catch (const std::exception&) {
        ++c_->errors;  // warming is best effort; the space loads again on first search
      }
    });
  }
  return {};
}

std::shared_ptr<LocalVectorEngine::Space> LocalVectorEngine::space(SpaceId id, bool create) {
  std::lock_guard l(mu_);
  auto it = spaces_.find(id);
  if (it != spaces_.end()) return it->second;
  if (!create) return nullptr;
  auto sp = std::make_shared<Space>(id, opt_.dims, pool_);
  spaces_.emplace(id, sp);
  return sp;
}

Status LocalVectorEngine::upsert(SpaceId space_id, std::span<const VectorId> ids,
                                 std::span<const float> vectors) {
  if (closing_) return make_error(Errc::unavailable, "vector engine closing");
  if (ids.size() > kMaxUpsert) return make_error(Errc::too_large, "too many vectors in one upsert");
  if (vectors.size() != ids.size() * static_cast<std::size_t>(opt_.dims))
    return make_error(Errc::bad_request, "vector dimensions do not match the engine");
  for (float v : vectors)
    if (!std::isfinite(v)) return make_error(Errc::bad_request, "vector has a non-finite value");
  if (ids.empty()) return {};
  auto sp = space(space_id, true);
  {
    std::lock_guard l(sp->write_mu);
    sp->set(sp->get()->with_upsert(ids, vectors));
    if (sp->file_clean) {
      ::unlink(segment_path(space_id).c_str());  // the file no longer matches; rebuilt later
      sp->file_clean = false;
    }
  }
  after_write(sp);
  return {};
}

Status LocalVectorEngine::remove(SpaceId space_id, std::span<const VectorId> ids) {
  if (closing_) return make_error(Errc::unavailable, "vector engine closing");
  if (ids.size() > kMaxUpsert) return make_error(Errc::too_large, "too many ids in one remove");
  auto sp = space(space_id, false);
  if (!sp || ids.empty()) return {};
  {
    std::lock_guard l(sp->write_mu);
    sp->set(sp->get()->with_remove(ids));
    if (sp->file_clean) {
      ::unlink(segment_path(space_id).c_str());
      sp->file_clean = false;
    }
  }
  after_write(sp);
  return {};
}

Status LocalVectorEngine::drop_space(SpaceId space_id) {
  std::shared_ptr<Space> sp;
  {
    std::lock_guard l(mu_);
    if (auto it = spaces_.find(space_id); it != spaces_.end()) {
      sp = it->second;
      spaces_.erase(it);
    }
    lru_.forget(space_id);
  }
  if (sp) {
    sp->dropped = true;
    std::lock_guard l(sp->write_mu);
    sp->set(std::make_shared<SpaceSnapshot>(opt_.dims));
  }
  if (!opt_.dir.empty()) ::unlink(segment_path(space_id).c_str());
  return {};
}

boost::asio::awaitable<Result<std::vector<Hit>>> LocalVectorEngine::search(
    SpaceId space_id, std::span<const float> query, std::size_t k, Clock::time_point deadline) {
  if (closing_) {
    ++c_->rejected;
    co_return make_error(Errc::unavailable, "vector engine closing");
  }
  if (query.size() != static_cast<std::size_t>(opt_.dims))
    co_return make_error(Errc::bad_request, "query dimensions do not match the engine");
  if (k > kMaxK) co_return make_error(Errc::bad_request, "k too large");
  if (Clock::now() >= deadline) {
    ++c_->timeouts;
    co_return make_error(Errc::timeout, "vector search deadline passed");
  }
  if (k == 0) co_return std::vector<Hit>{};
  if (c_->queued.fetch_add(1) >= opt_.max_queue) {
    --c_->queued;
    ++c_->rejected;
    co_return make_error(Errc::unavailable, "vector search queue full");
  }
  ++c_->searches;
  {
    std::lock_guard l(mu_);
    lru_.touch(space_id, wall_ms());
  }
  auto req = std::make_shared<Request>();
  req->sp = space(space_id, true);
  req->query.assign(query.begin(), query.end());
  req->k = k;
  req->deadline = deadline;
  req->c = c_;
  // The initiation captures only raw pointers: GCC 12 may destroy temporaries of a co_await
  // full-expression twice, which must not be a shared_ptr's reference count.
  Request* raw = req.get();
  auto init = [this, raw](auto handler) {
    auto self = raw->shared_from_this();
    auto slot = asio::get_associated_cancellation_slot(handler);
    {
      std::lock_guard l(self->mu);
      self->work.emplace(asio::prefer(asio::get_associated_executor(handler),
                                      asio::execution::outstanding_work.tracked));
      self->handler = std::make_unique<Resume<decltype(handler)>>(std::move(handler));
    }
    if (slot.is_connected()) {
      slot.assign([w = std::weak_ptr<Request>(self)](asio::cancellation_type) {
        if (auto r = w.lock()) complete(r, make_error(Errc::cancelled, "vector search cancelled"));
      });
    }
    enqueue(self);
  };
  std::shared_ptr<Request> done =
      co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::shared_ptr<Request>)>(
          init, asio::use_awaitable);
  co_return std::move(*done->result);
}

void LocalVectorEngine::enqueue(const std::shared_ptr<Request>& req) {
  const std::shared_ptr<Space> sp = req->sp;
  std::vector<std::shared_ptr<Request>> now;
  {
    std::lock_guard l(sp->batch_mu);
    if (closing_) {
      complete(req, make_error(Errc::unavailable, "vector engine closing"));
      return;
    }
    {
      std::lock_guard rl(req->mu);
      if (req->handler) {
        req->timer = std::make_unique<asio::steady_timer>(pool_, req->deadline);
        req->timer->async_wait([req](boost::system::error_code ec) {
          if (!ec) complete(req, make_error(Errc::timeout, "vector search deadline passed"));
        });
      }
    }
    sp->pending.push_back(req);
    if (sp->pending.size() >= opt_.batch_max || opt_.batch_window_us == 0) {
      now.swap(sp->pending);
    } else if (!sp->armed) {
      sp->armed = true;
      sp->batch_timer.expires_after(std::chrono::microseconds(opt_.batch_window_us));
      sp->batch_timer.async_wait([this, sp](boost::system::error_code) { flush(sp); });
    }
  }
  if (!now.empty())
    asio::post(pool_, [this, sp, b = std::move(now)]() mutable { run_batch(sp, std::move(b)); });
}

void LocalVectorEngine::flush(const std::shared_ptr<Space>& sp) {
  std::vector<std::shared_ptr<Request>> batch;
  {
    std::lock_guard l(sp->batch_mu);
    sp->armed = false;
    batch.swap(sp->pending);
  }
  if (!batch.empty()) run_batch(sp, std::move(batch));
}

void LocalVectorEngine::run_batch(const std::shared_ptr<Space>& sp,
                                  std::vector<std::shared_ptr<Request>> batch) {
  auto fail_all = [&](const Error& e) {
    for (auto& r : batch) complete(r, e);
  };
  if (closing_) return fail_all(make_error(Errc::unavailable, "vector engine closing"));
  try {
    const auto t0 = Clock::now();
    std::erase_if(batch, [&](const std::shared_ptr<Request>& r) {
      {
        std::lock_guard l(r->mu);
        if (!r->handler) return true;
      }
      if (r->deadline > t0) return false;
      complete(r, make_error(Errc::timeout, "vector search deadline passed"));
      return true;
    });
    if (batch.empty()) return;
    if (auto st = ensure_loaded(sp); !st) return fail_all(st.error());
    auto snap = sp->get();
    const std::size_t d = static_cast<std::size_t>(opt_.dims), nq = batch.size();
    std::vector<float> queries(nq * d);
    std::size_t kmax = 0;
    for (std::size_t i = 0; i < nq; ++i) {
      std::copy(batch[i]->query.begin(), batch[i]->query.end(), queries.begin() + i * d);
      kmax = std::max(kmax, batch[i]->k);
    }
    std::vector<std::vector<Hit>> out;
    snap->search(queries, nq, kmax, out);
    ++c_->batches;
    c_->batched_queries += nq;
    const auto t1 = Clock::now();
    for (std::size_t i = 0; i < nq; ++i) {
      if (t1 > batch[i]->deadline) {
        complete(batch[i], make_error(Errc::timeout, "vector search deadline passed"));
        continue;
      }
      if (out[i].size() > batch[i]->k) out[i].resize(batch[i]->k);
      complete(batch[i], std::move(out[i]));
    }
  } catch (const std::exception& e) {
    fail_all(make_error(Errc::internal, std::string("vector search failed: ") + e.what()));
  }
}

Status LocalVectorEngine::ensure_loaded(const std::shared_ptr<Space>& sp) {
  if (sp->get()->loaded()) return {};
  // One pool thread loads a space; searches of that space meanwhile fail fast with `unavailable`
  // (the caller degrades) instead of parking every pool thread behind a long index build.
  std::unique_lock load_lock(sp->load_mu, std::try_to_lock);
  if (!load_lock.owns_lock()) return make_error(Errc::unavailable, "vector space is loading");
  if (sp->get()->loaded()) return {};
  const int dims = opt_.dims;
  std::shared_ptr<const VectorSet> set;
  const std::string path = segment_path(sp->id);
  bool from_file = false, wrote_file = false;
  auto view = [dims](std::shared_ptr<const MappedSegment> seg) {
    return std::make_shared<const VectorSet>(dims, seg->count(), seg->ids(), seg->rows(), seg);
  };
  if (sp->dropped) {
    set = std::make_shared<const VectorSet>(dims, std::vector<VectorId>{}, std::vector<float>{});
  } else if (!path.empty()) {
    auto seg = SegmentFile::open(path, opt_.embedder_name, dims);
    if (seg) {
      set = view(*seg);
      from_file = true;
      ++c_->loads_from_file;
    } else if (seg.error().code != Errc::not_found) {
      ++c_->segment_rejected;  // corrupt or stale: never trusted, rebuilt from the store
      ::unlink(path.c_str());
    }
  }
  if (!set) {
    SpaceVectors v;
    if (opt_.loader) {
      try {
        auto r = opt_.loader(sp->id);
        if (!r) return r.error();
        v = std::move(*r);
      } catch (const std::exception& e) {
        return make_error(Errc::internal, std::string("space loader failed: ") + e.what());
      }
    }
    if (v.vectors.size() != v.ids.size() * static_cast<std::size_t>(dims))
      return make_error(Errc::internal, "space loader returned vectors of the wrong dimensions");
    ++c_->loads_from_store;
    if (!path.empty() && v.ids.size() >= opt_.min_file_vectors &&
        SegmentFile::write(path, opt_.embedder_name, dims, IndexKind::exact, v.ids, v.vectors)) {
      if (auto seg = SegmentFile::open(path, opt_.embedder_name, dims)) {
        set = view(*seg);
        wrote_file = true;
      }
    }
    if (!set) set = std::make_shared<const VectorSet>(dims, std::move(v.ids), std::move(v.vectors));
  }
  const IndexParams p = index_params();
  const IndexKind kind = IndexFactory::choose(set->size(), opt_.int8_threshold,
                                              opt_.hnsw_threshold, opt_.index_override);
  auto idx = IndexFactory::build(kind, set, p);
  if (!idx) return idx.error();
  std::vector<VectorId> ids(set->ids().begin(), set->ids().end());
  {
    std::lock_guard l(sp->write_mu);
    auto cur = sp->get();
    sp->set(cur->with_base(std::move(*idx), std::move(ids)));
    // The file mirrors the store only if nothing changed since it was read.
    sp->file_clean = (from_file || wrote_file) && cur->masked() == 0 && cur->delta_alive() == 0;
    if ((from_file || wrote_file) && !sp->file_clean) ::unlink(path.c_str());
  }
  enforce_resident_bound(sp->id);
  after_write(sp);
  return {};
}

IndexParams LocalVectorEngine::index_params() const {
  IndexParams p;
  p.hnsw_m = opt_.hnsw_m;
  p.hnsw_ef_construction = opt_.hnsw_ef_construction;
  p.hnsw_ef_search = opt_.hnsw_ef_search;
  p.hnsw_int8 = opt_.hnsw_int8;
  p.ivf_nlist = opt_.ivf_nlist;
  p.ivf_nprobe = opt_.ivf_nprobe;
  p.int8_rerank = opt_.int8_rerank;
  return p;
}

void LocalVectorEngine::after_write(const std::shared_ptr<Space>& sp) {
  std::lock_guard l(sp->write_mu);
  auto s = sp->get();
  if (!s->loaded() || sp->compacting || closing_) return;
  const std::size_t n = s->size();
  if (s->delta_alive() <= std::max<std::size_t>(256, n / 8) &&
      s->masked() <= std::max<std::size_t>(256, n / 4))
    return;
  sp->compacting = true;
  asio::post(pool_, [this, sp] { compact(sp); });
}

void LocalVectorEngine::compact(const std::shared_ptr<Space>& sp) {
  auto from = sp->get();
  auto done = [&] {
    std::lock_guard l(sp->write_mu);
    sp->compacting = false;
  };
  if (closing_ || !from->loaded()) return done();
  try {
    std::vector<VectorId> ids;
    std::vector<float> rows;
    from->export_live(ids, rows);
    const IndexParams p = index_params();
    const IndexKind kind = IndexFactory::choose(ids.size(), opt_.int8_threshold,
                                                opt_.hnsw_threshold, opt_.index_override);
    // Persist first and index the mapped file, so exact/int8 bases keep their float rows in the
    // page cache rather than on the heap.
    const std::string path = segment_path(sp->id);
    std::shared_ptr<const VectorSet> set;
    if (!path.empty() && ids.size() >= opt_.min_file_vectors &&
        SegmentFile::write(path, opt_.embedder_name, opt_.dims, kind, ids, rows).ok()) {
      if (auto seg = SegmentFile::open(path, opt_.embedder_name, opt_.dims))
        set = std::make_shared<const VectorSet>(opt_.dims, (*seg)->count(), (*seg)->ids(),
                                                (*seg)->rows(), *seg);
    }
    if (!set) set = std::make_shared<const VectorSet>(opt_.dims, ids, std::move(rows));
    auto idx = IndexFactory::build(kind, set, p);
    if (!idx) return done();
    std::lock_guard l(sp->write_mu);
    sp->compacting = false;
    auto cur = sp->get();
    if (!cur->loaded() || sp->dropped) {
      if (!path.empty()) ::unlink(path.c_str());
      return;
    }
    sp->set(cur->rebased(std::move(*idx), ids, *from));
    ++c_->compactions;
    // The file holds `from`; it matches the store only if nothing changed since.
    sp->file_clean = !set->owned() && cur->seq() == from->seq();
    if (!path.empty() && !sp->file_clean) ::unlink(path.c_str());
  } catch (const std::exception&) {
    done();
  }
}

void LocalVectorEngine::evict(const std::shared_ptr<Space>& sp) {
  std::lock_guard l(sp->write_mu);
  auto s = sp->get();
  if (!s->loaded()) return;
  sp->set(s->unloaded());
  ++c_->evictions;
}

void LocalVectorEngine::enforce_resident_bound(SpaceId keep) {
  for (;;) {
    std::shared_ptr<Space> victim;
    {
      std::lock_guard l(mu_);
      std::vector<SpaceId> resident;
      for (auto& [id, sp] : spaces_)
        if (sp->get()->loaded()) resident.push_back(id);
      if (resident.size() <= opt_.resident_spaces) return;
      auto v = lru_.victim(resident, keep);
      if (!v) return;
      victim = spaces_.at(*v);
    }
    evict(victim);
  }
}

void LocalVectorEngine::trim() {
  const std::int64_t hot_since = wall_ms() - 5 * 60 * 1000;
  std::vector<std::shared_ptr<Space>> cold;
  {
    std::lock_guard l(mu_);
    for (auto& [id, sp] : spaces_)
      if (sp->get()->loaded() && !lru_.hot(id, hot_since)) cold.push_back(sp);
  }
  for (auto& sp : cold) evict(sp);
  save_history();
}

void LocalVectorEngine::save_history() {
  if (opt_.dir.empty()) return;
  std::string text;
  {
    std::lock_guard l(mu_);
    text = lru_.serialize();
  }
  const std::string path = opt_.dir + "/access-history", tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out) return;
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
}

SpaceInfo LocalVectorEngine::info(SpaceId space_id) const {
  std::shared_ptr<Space> sp;
  {
    std::lock_guard l(mu_);
    auto it = spaces_.find(space_id);
    if (it == spaces_.end()) return {};
    sp = it->second;
  }
  SpaceInfo i;
  auto s = sp->get();
  i.resident = s->loaded();
  i.size = s->loaded() ? s->size() : sp->last_size.load();
  i.memory_bytes = s->loaded() ? s->memory_bytes() : 0;
  if (int k = sp->last_kind.load(); k != 0) i.index_kind = index_kind_name(static_cast<IndexKind>(k));
  else i.index_kind = "exact";  // known but never loaded yet
  return i;
}

void LocalVectorEngine::shutdown() {
  if (closing_.exchange(true)) return;
  std::vector<std::shared_ptr<Space>> all;
  {
    std::lock_guard l(mu_);
    for (auto& [id, sp] : spaces_) all.push_back(sp);
  }
  for (auto& sp : all) {
    std::vector<std::shared_ptr<Request>> pending;
    {
      std::lock_guard l(sp->batch_mu);
      pending.swap(sp->pending);
      sp->batch_timer.cancel();
    }
    for (auto& r : pending) complete(r, make_error(Errc::unavailable, "vector engine closing"));
  }
  save_history();
  pool_.join();
}

EngineStats LocalVectorEngine::stats() const {
  EngineStats s;
  s.searches = c_->searches;
  s.batches = c_->batches;
  s.batched_queries = c_->batched_queries;
  s.timeouts = c_->timeouts;
  s.rejected = c_->rejected;
  s.cancelled = c_->cancelled;
  s.errors = c_->errors;
  s.loads_from_file = c_->loads_from_file;
  s.loads_from_store = c_->loads_from_store;
  s.segment_rejected = c_->segment_rejected;
  s.compactions = c_->compactions;
  s.evictions = c_->evictions;
  s.queue_depth = c_->queued;
  std::lock_guard l(mu_);
  s.spaces = spaces_.size();
  for (auto& [id, sp] : spaces_) s.resident += sp->get()->loaded() ? 1 : 0;
  return s;
}

}  // namespace troupe::memory
