// Metrics: counters, gauges and histograms with Prometheus text exposition. Recording on a hot
// path is lock-free and allocation-free: values live in per-thread-sharded atomics, and a labelled
// child is looked up once (under the family's mutex) and then kept by the caller.
// Thread-safety: every member is safe to call from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace troupe {

namespace metrics_detail {
constexpr std::size_t kShards = 16;
std::size_t shard_index() noexcept;  // stable per thread
struct alignas(64) Cell {
  std::atomic<std::uint64_t> v{0};
};
}  // namespace metrics_detail

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept {
    cells_[metrics_detail::shard_index()].v.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t value() const noexcept;

 private:
  std::array<metrics_detail::Cell, metrics_detail::kShards> cells_;
};

class Gauge {
 public:
  void set(double v) noexcept { v_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept {
    double cur = v_.load(std::memory_order_relaxed);
    while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
  }
  double value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);  // upper bounds, ascending (seconds)
  void observe(double v) noexcept;
  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  // shard-major: cells_[shard * (bounds+1) + bucket]
  std::unique_ptr<metrics_detail::Cell[]> cells_;
  std::array<std::atomic<double>, metrics_detail::kShards> sums_{};
};

// Default latency buckets in seconds: 0.5 ms … 30 s.
std::vector<double> latency_buckets();

class MetricsRegistry {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {},
                       std::vector<double> bounds = latency_buckets());
  // A gauge family computed at scrape time (process figures, task counts by name...).
  using Collector = std::function<std::vector<std::pair<Labels, double>>()>;
  void collect(const std::string& name, const std::string& help, Collector fn);

  // The whole registry in the Prometheus text format (version 0.0.4).
  std::string render() const;

  // Read side for summaries (the /api/stats endpoint). nullopt when no family has that name.
  // Counters, gauges and collected families: values by label set, and their sum.
  std::optional<std::vector<std::pair<Labels, double>>> values(const std::string& name) const;
  std::optional<double> total(const std::string& name) const;
  // Histograms: counts merged over every label set (children with other bounds are skipped).
  struct HistogramTotal {
    std::vector<double> bounds;
    Histogram::Snapshot snapshot;
  };
  std::optional<HistogramTotal> histogram_total(const std::string& name) const;
  // Family names, sorted.
  std::vector<std::string> names() const;

 private:
  enum class Kind { counter, gauge, histogram, collected };
  struct Family {
    Kind kind;
    std::string help;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
    Collector collector;
  };
  Family& family(const std::string& name, Kind kind, const std::string& help);

  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace troupe
