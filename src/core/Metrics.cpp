#include "core/Metrics.h"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace troupe {

namespace metrics_detail {
std::size_t shard_index() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local std::size_t idx = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return idx;
}
}  // namespace metrics_detail

std::uint64_t Counter::value() const noexcept {
  std::uint64_t sum = 0;
  for (const auto& c : cells_) sum += c.v.load(std::memory_order_relaxed);
  return sum;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      cells_(new metrics_detail::Cell[metrics_detail::kShards * (bounds_.size() + 1)]) {
  for (auto& s : sums_) s.store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
  std::size_t b = 0;
  while (b < bounds_.size() && v > bounds_[b]) ++b;
  auto shard = metrics_detail::shard_index();
  cells_[shard * (bounds_.size() + 1) + b].v.fetch_add(1, std::memory_order_relaxed);
  auto& s = sums_[shard];
  double cur = s.load(std::memory_order_relaxed);
  while (!s.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot out;
  const std::size_t n = bounds_.size() + 1;
  std::vector<std::uint64_t> per(n, 0);
  for (std::size_t s = 0; s < metrics_detail::kShards; ++s) {
    for (std::size_t b = 0; b < n; ++b) per[b] += cells_[s * n + b].v.load(std::memory_order_relaxed);
    out.sum += sums_[s].load(std::memory_order_relaxed);
  }
  std::uint64_t run = 0;
  for (auto c : per) {
    run += c;
    out.cumulative.push_back(run);
  }
  out.count = run;
  return out;
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, Kind kind,
                                                 const std::string& help) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.kind = kind;
    it->second.help = help;
  } else if (it->second.kind != kind) {
    throw std::logic_error("metric " + name + " registered with two kinds");
  }
  return it->second;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& f = family(name, Kind::counter, help);
  auto& p = f.counters[labels];
  if (!p) p = std::make_unique<Counter>();
  return *p;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& f = family(name, Kind::gauge, help);
  auto& p = f.gauges[labels];
  if (!p) p = std::make_unique<Gauge>();
  return *p;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const Labels& labels, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto& f = family(name, Kind::histogram, help);
  auto& p = f.histograms[labels];
  if (!p) p = std::make_unique<Histogram>(std::move(bounds));
  return *p;
}

void MetricsRegistry::collect(const std::string& name, const std::string& help, Collector fn) {
  std::lock_guard lock(mu_);
  family(name, Kind::collected, help).collector = std::move(fn);
}

namespace {

void escape_label(std::ostringstream& o, const std::string& v) {
  for (char c : v) {
    if (c == '\\') o << "\\\\";
    else if (c == '"') o << "\\\"";
    else if (c == '\n') o << "\\n";
    else o << c;
  }
}

void write_labels(std::ostringstream& o, const MetricsRegistry::Labels& labels,
                  const char* extra_key = nullptr, const std::string& extra_val = {}) {
  if (labels.empty() && !extra_key) return;
  o << '{';
  bool first = true;
  for (auto& [k, v] : labels) {
    if (!first) o << ',';
    first = false;
    o << k << "=\"";
    escape_label(o, v);
    o << '"';
  }
  if (extra_key) {
    if (!first) o << ',';
    o << extra_key << "=\"" << extra_val << '"';
  }
  o << '}';
}

void write_value(std::ostringstream& o, double v) {
  if (std::isnan(v)) o << "NaN";
  else if (std::isinf(v)) o << (v > 0 ? "+Inf" : "-Inf");
  else o << v;
}

std::string bound_str(double b) {
  std::ostringstream o;
  o << b;
  return o.str();
}

}  // namespace

std::string MetricsRegistry::render() const {
  std::ostringstream o;
  o.precision(10);
  std::lock_guard lock(mu_);
  for (const auto& [name, f] : families_) {
    const char* type = f.kind == Kind::counter ? "counter" : f.kind == Kind::histogram ? "histogram" : "gauge";
    o << "# HELP " << name << ' ' << f.help << "\n# TYPE " << name << ' ' << type << '\n';
    switch (f.kind) {
      case Kind::counter:
        for (auto& [l, c] : f.counters) {
          o << name;
          write_labels(o, l);
          o << ' ' << c->value() << '\n';
        }
        break;
      case Kind::gauge:
        for (auto& [l, g] : f.gauges) {
          o << name;
          write_labels(o, l);
          o << ' ';
          write_value(o, g->value());
          o << '\n';
        }
        break;
      case Kind::histogram:
        for (auto& [l, h] : f.histograms) {
          auto s = h->snapshot();
          for (std::size_t i = 0; i < h->bounds().size(); ++i) {
            o << name << "_bucket";
            write_labels(o, l, "le", bound_str(h->bounds()[i]));
            o << ' ' << s.cumulative[i] << '\n';
          }
          o << name << "_bucket";
          write_labels(o, l, "le", "+Inf");
          o << ' ' << s.count << '\n' << name << "_sum";
          write_labels(o, l);
          o << ' ';
          write_value(o, s.sum);
          o << '\n' << name << "_count";
          write_labels(o, l);
          o << ' ' << s.count << '\n';
        }
        break;
      case Kind::collected:
        if (f.collector) {
          for (auto& [l, v] : f.collector()) {
            o << name;
            write_labels(o, l);
            o << ' ';
            write_value(o, v);
            o << '\n';
          }
        }
        break;
    }
  }
  return o.str();
}

std::optional<std::vector<std::pair<MetricsRegistry::Labels, double>>> MetricsRegistry::values(
    const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end() || it->second.kind == Kind::histogram) return std::nullopt;
  const Family& f = it->second;
  std::vector<std::pair<Labels, double>> out;
  for (auto& [l, c] : f.counters) out.emplace_back(l, static_cast<double>(c->value()));
  for (auto& [l, g] : f.gauges) out.emplace_back(l, g->value());
  if (f.kind == Kind::collected && f.collector) {
    for (auto& s : f.collector()) out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> MetricsRegistry::total(const std::string& name) const {
  auto v = values(name);
  if (!v) return std::nullopt;
  double sum = 0;
  for (auto& [l, x] : *v) sum += x;
  return sum;
}

std::optional<MetricsRegistry::HistogramTotal> MetricsRegistry::histogram_total(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end() || it->second.kind != Kind::histogram || it->second.histograms.empty()) {
    return std::nullopt;
  }
  HistogramTotal out;
  out.bounds = it->second.histograms.begin()->second->bounds();
  out.snapshot.cumulative.assign(out.bounds.size() + 1, 0);
  for (auto& [l, h] : it->second.histograms) {
    if (h->bounds() != out.bounds) continue;
    auto s = h->snapshot();
    for (std::size_t i = 0; i < s.cumulative.size(); ++i) out.snapshot.cumulative[i] += s.cumulative[i];
    out.snapshot.sum += s.sum;
    out.snapshot.count += s.count;
  }
  return out;
}

std::vector<std::string> MetricsRegistry::names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (auto& [n, f] : families_) out.push_back(n);
  return out;
}

}  // namespace troupe
