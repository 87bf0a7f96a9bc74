// Shared fixtures for the vector-index tests: seeded random and clustered unit vectors and a naive
// exact top-k reference.
// Thread-safety: test-only helpers; single-threaded use.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "memory/VectorEngine.h"

namespace troupe::memory::testdata {

inline void normalize(float* v, std::size_t d) {
  double s = 0;
  for (std::size_t i = 0; i < d; ++i) s += double(v[i]) * v[i];
  if (s == 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (std::size_t i = 0; i < d; ++i) v[i] *= inv;
}

inline std::vector<float> random_unit(std::size_t n, std::size_t d, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> v(n * d);
  for (auto& x : v) x = g(rng);
  for (std::size_t i = 0; i < n; ++i) normalize(v.data() + i * d, d);
  return v;
}

// n points around `clusters` random centres (noise sigma relative to unit centres).
inline std::vector<float> clustered(std::size_t n, std::size_t d, std::size_t clusters,
                                    float sigma, std::uint32_t seed) {
  auto centres = random_unit(clusters, d, seed ^ 0x9e3779b9u);
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, sigma / std::sqrt(float(d)));
  std::uniform_int_distribution<std::size_t> pick(0, clusters - 1);
  std::vector<float> v(n * d);
  for (std::size_t i = 0; i < n; ++i) {
    const float* c = centres.data() + pick(rng) * d;
    for (std::size_t j = 0; j < d; ++j) v[i * d + j] = c[j] + g(rng);
    normalize(v.data() + i * d, d);
  }
  return v;
}

inline std::vector<VectorId> iota_ids(std::size_t n, VectorId first = 1000) {
  std::vector<VectorId> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = first + i;
  return ids;
}

// Naive reference: double-precision scores, best first, ties by id.
inline std::vector<Hit> naive_topk(const std::vector<float>& rows, const std::vector<VectorId>& ids,
                                   const float* q, std::size_t d, std::size_t k) {
  std::vector<std::pair<double, VectorId>> all;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    double s = 0;
    for (std::size_t j = 0; j < d; ++j) s += double(q[j]) * rows[i * d + j];
    all.push_back({s, ids[i]});
  }
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  std::vector<Hit> out;
  for (std::size_t i = 0; i < std::min(k, all.size()); ++i)
    out.push_back({all[i].second, static_cast<float>(all[i].first)});
  return out;
}

inline double recall(const std::vector<Hit>& got, const std::vector<Hit>& truth) {
  if (truth.empty()) return 1.0;
  std::set<VectorId> t;
  for (auto& h : truth) t.insert(h.id);
  std::size_t n = 0;
  for (auto& h : got) n += t.count(h.id);
  return double(n) / double(truth.size());
}

}  // namespace troupe::memory::testdata
