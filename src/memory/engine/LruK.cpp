#include "memory/engine/LruK.h"

#include <algorithm>
#include <sstream>

namespace troupe::memory {

LruK::LruK(int k) : k_(std::clamp(k, 1, 16)) {}

void LruK::touch(SpaceId s, std::int64_t now_ms) {
  auto& h = hist_[s];
  h.push_front(now_ms);
  while (h.size() > static_cast<std::size_t>(k_)) h.pop_back();
  if (hist_.size() > kMaxTracked) {
    std::vector<SpaceId> all;
    all.reserve(hist_.size());
    for (auto& [id, _] : hist_) all.push_back(id);
    if (auto v = victim(all, s)) hist_.erase(*v);
  }
}

void LruK::forget(SpaceId s) { hist_.erase(s); }

std::pair<std::int64_t, std::int64_t> LruK::key(SpaceId s) const {
  auto it = hist_.find(s);
  if (it == hist_.end() || it->second.empty()) return {INT64_MIN, INT64_MIN};
  const auto& h = it->second;
  const std::int64_t kth = h.size() >= static_cast<std::size_t>(k_) ? h.back() : INT64_MIN;
  return {kth, h.front()};
}

std::vector<SpaceId> LruK::ranked() const {
  std::vector<std::pair<std::pair<std::int64_t, std::int64_t>, SpaceId>> v;
  v.reserve(hist_.size());
  for (auto& [id, _] : hist_) v.push_back({key(id), id});
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  std::vector<SpaceId> out;
  out.reserve(v.size());
  for (auto& e : v) out.push_back(e.second);
  return out;
}

std::optional<SpaceId> LruK::victim(std::span<const SpaceId> candidates, SpaceId keep) const {
  std::optional<SpaceId> best;
  std::pair<std::int64_t, std::int64_t> best_key{};
  for (SpaceId c : candidates) {
    if (c == keep) continue;
    auto kk = key(c);
    if (!best || kk < best_key || (kk == best_key && c > *best)) {
      best = c;
      best_key = kk;
    }
  }
  return best;
}

bool LruK::hot(SpaceId s, std::int64_t since_ms) const {
  auto k = key(s).first;
  return k != INT64_MIN && k >= since_ms;
}

std::string LruK::serialize() const {
  std::ostringstream os;
  os << "lruk " << k_ << "\n";
  for (auto& [id, h] : hist_) {
    os << id;
    for (auto t : h) os << ' ' << t;
    os << '\n';
  }
  return os.str();
}

LruK LruK::parse(int k, const std::string& text) {
  LruK out(k);
  std::istringstream is(text);
  std::string line;
  if (!std::getline(is, line) || line.rfind("lruk ", 0) != 0) return out;
  while (std::getline(is, line) && out.hist_.size() < kMaxTracked) {
    std::istringstream ls(line);
    SpaceId id = 0;
    if (!(ls >> id)) continue;
    std::deque<std::int64_t> h;
    std::int64_t t = 0;
    while (h.size() < static_cast<std::size_t>(out.k_) && ls >> t) h.push_back(t);
    if (h.empty() || !std::is_sorted(h.rbegin(), h.rend())) continue;
    out.hist_[id] = std::move(h);
  }
  return out;
}

}  // namespace troupe::memory
