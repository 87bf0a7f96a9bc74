// Test fakes for the memory service: a bag-of-words hashing embedder and a brute-force vector
// engine that can be told to fail or time out, counting its searches.
// Thread-safety: the engine locks its state; the embedder is stateless.
#pragma once

#include <atomic>
#include <cctype>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "memory/Embedder.h"
#include "memory/VectorEngine.h"

namespace troupe::memory::testing {

class WordHashEmbedder final : public Embedder {
 public:
  explicit WordHashEmbedder(int dims = 64) : info_{"word-hash", dims} {}
  const EmbedderInfo& info() const override { return info_; }
  Status embed(std::span<const std::string_view> texts, std::span<float> out) override {
    const auto d = static_cast<std::size_t>(info_.dims);
    if (out.size() != texts.size() * d) return make_error(Errc::bad_request, "bad output size");
    for (std::size_t t = 0; t < texts.size(); ++t) {
      float* row = out.data() + t * d;
      std::fill(row, row + d, 0.0f);
      std::string w;
      auto flush = [&] {
        if (w.size() >= 3) {
          std::uint64_t h = 1469598103934665603ull;
          for (unsigned char c : w) h = (h ^ c) * 1099511628211ull;
          row[h % d] += 1.0f;
        }
        w.clear();
      };
      for (char c : texts[t]) {
        if (std::isalnum(static_cast<unsigned char>(c))) w += static_cast<char>(std::tolower(c));
        else flush();
      }
      flush();
      float n = 0;
      for (std::size_t i = 0; i < d; ++i) n += row[i] * row[i];
      if (n > 0) for (std::size_t i = 0; i < d; ++i) row[i] /= std::sqrt(n);
    }
    return {};
  }

 private:
  EmbedderInfo info_;
};

class BruteForceEngine final : public VectorEngine {
 public:
  explicit BruteForceEngine(int dims) : dims_(dims) {}
  int dims() const override { return dims_; }
  Status upsert(SpaceId space, std::span<const VectorId> ids, std::span<const float> v) override {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      spaces_[space][ids[i]].assign(v.begin() + i * dims_, v.begin() + (i + 1) * dims_);
    }
    return {};
  }
  Status remove(SpaceId space, std::span<const VectorId> ids) override {
    std::lock_guard lock(mu_);
    for (auto id : ids) spaces_[space].erase(id);
    return {};
  }
  Status drop_space(SpaceId space) override {
    std::lock_guard lock(mu_);
    spaces_.erase(space);
    return {};
  }
  boost::asio::awaitable<Result<std::vector<Hit>>> search(
      SpaceId space, std::span<const float> q, std::size_t k,
      std::chrono::steady_clock::time_point) override {
    std::lock_guard lock(mu_);
    ++searches;
    if (fail_with) co_return make_error(*fail_with, "injected");
    std::vector<Hit> hits;
    for (auto& [id, v] : spaces_[space]) {
      float s = 0;
      for (int i = 0; i < dims_; ++i) s += v[i] * q[i];
      hits.push_back({id, s});
    }
    std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.score > b.score; });
    if (hits.size() > k) hits.resize(k);
    co_return hits;
  }
  SpaceInfo info(SpaceId space) const override {
    std::lock_guard lock(mu_);
    auto it = spaces_.find(space);
    return {"exact", it == spaces_.end() ? 0 : it->second.size(), 0, true};
  }
  void trim() override {}
  void shutdown() override {}
  std::size_t size(SpaceId space) const { return info(space).size; }

  std::atomic<int> searches{0};
  std::optional<Errc> fail_with;  // set before a search, from the test thread

 private:
  int dims_;
  mutable std::mutex mu_;
  std::map<SpaceId, std::map<VectorId, std::vector<float>>> spaces_;
};

}  // namespace troupe::memory::testing
