#include "Runner.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

namespace troupe::vbench {
namespace {

using Clock = std::chrono::steady_clock;

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, std::size_t(std::ceil(p * double(v.size())) - 1));
  return v[i];
}

}  // namespace

Measurement measure(const BenchIndex& index, const Dataset& d, std::size_t batch, int threads,
                    const RunLimits& lim) {
  const std::size_t nq = std::min(lim.max_queries, d.nq);
  const std::size_t nb = (nq + batch - 1) / batch;
  const std::size_t k = lim.k;
  std::vector<std::int64_t> labels(nq * k, -1);
  std::vector<char> done(nb, 0);

  // Warm-up (caches, lazily allocated buffers): a few untimed calls.
  for (std::size_t b = 0; b < std::min<std::size_t>(nb, 2); ++b) {
    const std::size_t q0 = b * batch, cnt = std::min(batch, nq - q0);
    index.search(d.query(q0), cnt, k, &labels[q0 * k]);
  }

  std::atomic<std::size_t> next{0};
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(threads));
  const auto start = Clock::now();
  const auto stop_at = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(lim.max_seconds));
  const std::size_t min_batches = std::min(nb, std::size_t(2 * threads));
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      omp_set_num_threads(1);
      auto& my = lat[std::size_t(t)];
      for (;;) {
        const std::size_t b = next.fetch_add(1);
        if (b >= nb || (b >= min_batches && Clock::now() >= stop_at)) break;
        const std::size_t q0 = b * batch, cnt = std::min(batch, nq - q0);
        const auto t0 = Clock::now();
        index.search(d.query(q0), cnt, k, &labels[q0 * k]);
        my.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        done[b] = 1;
      }
    });
  for (auto& t : ts) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();

  Measurement m;
  double rsum = 0;
  for (std::size_t b = 0; b < nb; ++b) {
    if (!done[b]) continue;
    const std::size_t q0 = b * batch, cnt = std::min(batch, nq - q0);
    // recall_at works on queries [0, n): pass this batch's rows with the truth offset applied.
    for (std::size_t q = q0; q < q0 + cnt; ++q) {
      const std::int64_t* tr = &d.truth[q * d.gt_k];
      for (std::size_t j = 0; j < k; ++j) {
        const std::int64_t l = labels[q * k + j];
        if (l >= 0 && std::find(tr, tr + k, l) != tr + k) rsum += 1;
      }
    }
    m.queries += cnt;
  }
  m.recall = m.queries ? rsum / double(m.queries * k) : 0;
  m.qps = wall > 0 ? double(m.queries) / wall : 0;
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  m.p50_us = percentile(all, 0.50);
  m.p95_us = percentile(all, 0.95);
  m.p99_us = percentile(all, 0.99);
  return m;
}

}  // namespace troupe::vbench
