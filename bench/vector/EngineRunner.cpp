#include "EngineRunner.h"

#ifdef TROUPE_VBENCH_ENGINE
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "memory/engine/LocalVectorEngine.h"
#endif

namespace troupe::vbench {

#ifndef TROUPE_VBENCH_ENGINE
bool run_engine(const Dataset&, const EngineRun&, const RunLimits&, Measurement&, double&) { return false; }
#else
bool run_engine(const Dataset& d, const EngineRun& r, const RunLimits& lim, Measurement& m,
                double& mean_batch) {
  namespace tm = troupe::memory;
  namespace asio = boost::asio;
  using Clock = std::chrono::steady_clock;
  tm::EngineOptions o;
  o.embedder_name = "vbench";
  o.dims = d.dims;
  o.threads = r.threads;
  o.max_queue = 4096;
  o.batch_window_us = r.window_us;
  o.batch_max = r.batch_max;
  o.index_override = r.kind;
  o.hnsw_ef_construction = r.efc;
  o.hnsw_ef_search = r.ef;
  o.ivf_nprobe = r.nprobe;
  o.int8_rerank = r.rerank;
  o.loader = [&d](tm::SpaceId) -> Result<tm::SpaceVectors> {
    tm::SpaceVectors sv;
    sv.ids.resize(d.n);
    std::iota(sv.ids.begin(), sv.ids.end(), tm::VectorId{0});
    sv.vectors = d.base;
    return sv;
  };
  tm::LocalVectorEngine eng(o);
  if (!eng.start()) return false;
  asio::io_context io;
  const std::size_t nq = std::min(lim.max_queries, d.nq), k = lim.k;
  auto q = [&](std::size_t i) { return std::span<const float>(d.query(i % nq), std::size_t(d.dims)); };

  // Load the space (searches fail fast while it builds).
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (int i = 0; i < 6000; ++i) {
      auto res = co_await eng.search(1, q(0), k, Clock::now() + std::chrono::seconds(60));
      if (res) co_return;
      t.expires_after(std::chrono::milliseconds(20));
      co_await t.async_wait(asio::use_awaitable);
    }
  }, asio::detached);
  io.run();
  io.restart();
  const auto before = eng.stats();

  std::vector<std::int64_t> labels(nq * k, -1);
  std::vector<char> answered(nq, 0);
  std::vector<double> lat;
  std::size_t next = 0, done = 0, errors = 0;
  const auto start = Clock::now();
  const auto stop_at = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(lim.max_seconds));
  for (std::size_t c = 0; c < r.concurrency; ++c)
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
      while (Clock::now() < stop_at) {
        const std::size_t i = next++;
        const auto t0 = Clock::now();
        auto res = co_await eng.search(1, q(i), k, t0 + std::chrono::seconds(5));
        lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (!res) { ++errors; continue; }
        ++done;
        if (i < nq) {
          for (std::size_t j = 0; j < k && j < res->size(); ++j) labels[i * k + j] = std::int64_t((*res)[j].id);
          answered[i] = 1;
        }
      }
    }, asio::detached);
  io.run();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const auto after = eng.stats();
  eng.shutdown();

  double hit = 0;
  std::size_t nans = 0;
  for (std::size_t i = 0; i < nq; ++i) {
    if (!answered[i]) continue;
    ++nans;
    const std::int64_t* tr = &d.truth[i * d.gt_k];
    for (std::size_t j = 0; j < k; ++j)
      if (labels[i * k + j] >= 0 && std::find(tr, tr + k, labels[i * k + j]) != tr + k) hit += 1;
  }
  m = Measurement{};
  m.recall = nans ? hit / double(nans * k) : 0;
  m.queries = done;
  m.qps = wall > 0 ? double(done) / wall : 0;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, std::size_t(std::ceil(p * double(lat.size())) - 1))];
  };
  m.p50_us = pct(0.5);
  m.p95_us = pct(0.95);
  m.p99_us = pct(0.99);
  const auto nb = after.batches - before.batches;
  mean_batch = nb ? double(after.batched_queries - before.batched_queries) / double(nb) : 0;
  m.errors = errors;
  return true;
}
#endif

}  // namespace troupe::vbench
