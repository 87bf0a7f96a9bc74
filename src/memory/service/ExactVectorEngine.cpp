#include "memory/service/ExactVectorEngine.h"

#include <algorithm>

#include "core/Offload.h"

namespace troupe::memory {

namespace asio = boost::asio;

std::shared_ptr<ExactVectorEngine::Space> ExactVectorEngine::find(SpaceId space, bool create) {
  std::lock_guard lock(mu_);
  auto it = spaces_.find(space);
  if (it != spaces_.end()) return it->second;
  if (!create) return nullptr;
  return spaces_.emplace(space, std::make_shared<Space>()).first->second;
}

Status ExactVectorEngine::ensure_loaded(SpaceId id, Space& s) {
  if (s.loaded) return {};
  auto data = loader_(id);
  if (!data.ok()) return data.error();
  if (data->vectors.size() != data->ids.size() * static_cast<std::size_t>(dims_)) {
    return make_error(Errc::internal, "space loader returned rows of the wrong size");
  }
  s.ids = std::move(data->ids);
  s.vectors = std::move(data->vectors);
  s.row.clear();
  for (std::size_t i = 0; i < s.ids.size(); ++i) s.row[s.ids[i]] = i;
  s.loaded = true;
  return {};
}

Status ExactVectorEngine::upsert(SpaceId space, std::span<const VectorId> ids,
                                 std::span<const float> vectors) {
  if (vectors.size() != ids.size() * static_cast<std::size_t>(dims_)) {
    return make_error(Errc::bad_request, "vectors do not match ids x dims");
  }
  auto s = find(space, false);
  if (!s) return {};  // not resident: the store has it; the first search loads it
  std::lock_guard lock(s->mu);
  if (!s->loaded) return {};
  const auto d = static_cast<std::size_t>(dims_);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto it = s->row.find(ids[i]);
    std::size_t r = it != s->row.end() ? it->second : s->ids.size();
    if (r == s->ids.size()) {
      s->ids.push_back(ids[i]);
      s->vectors.resize(s->vectors.size() + d);
      s->row[ids[i]] = r;
    }
    std::copy_n(vectors.begin() + i * d, d, s->vectors.begin() + r * d);
  }
  return {};
}

Status ExactVectorEngine::remove(SpaceId space, std::span<const VectorId> ids) {
  auto s = find(space, false);
  if (!s) return {};
  std::lock_guard lock(s->mu);
  const auto d = static_cast<std::size_t>(dims_);
  for (auto id : ids) {
    auto it = s->row.find(id);
    if (it == s->row.end()) continue;
    const std::size_t r = it->second, last = s->ids.size() - 1;
    if (r != last) {  // move the last row into the hole
      s->ids[r] = s->ids[last];
      std::copy_n(s->vectors.begin() + last * d, d, s->vectors.begin() + r * d);
      s->row[s->ids[r]] = r;
    }
    s->ids.pop_back();
    s->vectors.resize(last * d);
    s->row.erase(id);
  }
  return {};
}

Status ExactVectorEngine::drop_space(SpaceId space) {
  std::lock_guard lock(mu_);
  spaces_.erase(space);
  return {};
}

asio::awaitable<Result<std::vector<Hit>>> ExactVectorEngine::search(
    SpaceId space, std::span<const float> query, std::size_t k,
    std::chrono::steady_clock::time_point deadline) {
  if (query.size() != static_cast<std::size_t>(dims_)) co_return make_error(Errc::bad_request, "query dims");
  {
    std::lock_guard lock(mu_);
    if (closed_) co_return make_error(Errc::unavailable, "vector engine is closed");
  }
  std::vector<float> q(query.begin(), query.end());
  auto hits = co_await offload(pool_, [&]() -> Result<std::vector<Hit>> {
    if (std::chrono::steady_clock::now() > deadline) return make_error(Errc::timeout, "search deadline passed");
    auto s = find(space, true);
    std::lock_guard lock(s->mu);
    TROUPE_TRY_STATUS(ensure_loaded(space, *s));
    const auto d = static_cast<std::size_t>(dims_);
    std::vector<Hit> hits(s->ids.size());
    for (std::size_t r = 0; r < s->ids.size(); ++r) {
      const float* v = s->vectors.data() + r * d;
      float dot = 0;
      for (std::size_t i = 0; i < d; ++i) dot += v[i] * q[i];
      hits[r] = {s->ids[r], dot};
    }
    const std::size_t n = std::min(k, hits.size());
    std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(n), hits.end(),
                      [](const Hit& a, const Hit& b) { return a.score > b.score; });
    hits.resize(n);
    if (std::chrono::steady_clock::now() > deadline) return make_error(Errc::timeout, "search missed its deadline");
    return hits;
  });
  co_return hits;
}

SpaceInfo ExactVectorEngine::info(SpaceId space) const {
  std::shared_ptr<Space> s;
  {
    std::lock_guard lock(mu_);
    auto it = spaces_.find(space);
    if (it == spaces_.end()) return {};
    s = it->second;
  }
  std::lock_guard lock(s->mu);
  return {"exact", s->ids.size(), s->vectors.size() * sizeof(float), s->loaded};
}

void ExactVectorEngine::trim() {
  std::lock_guard lock(mu_);
  spaces_.clear();
}

void ExactVectorEngine::shutdown() {
  std::lock_guard lock(mu_);
  closed_ = true;
}

}  // namespace troupe::memory
