#include "api/StatsRoutes.h"

#include <chrono>

#include "api/RouteUtil.h"

namespace troupe::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

json::value number_or_null(const std::optional<double>& v) {
  if (!v) return nullptr;
  return *v;
}

json::value histogram_json(const MetricsRegistry& m, const std::string& name) {
  auto h = m.histogram_total(name);
  if (!h) return nullptr;
  json::array bounds;
  for (double b : h->bounds) bounds.push_back(b);
  json::array cumulative;
  for (auto c : h->snapshot.cumulative) cumulative.push_back(c);
  return json::object{{"metric", name},
                      {"bounds", std::move(bounds)},
                      {"cumulative", std::move(cumulative)},
                      {"count", h->snapshot.count},
                      {"sum", h->snapshot.sum}};
}

// Retrieval latency comes from the memory subsystem when it is built in; its histogram is found by
// name so the dashboard shows "no data" rather than failing when it is absent.
std::string retrieval_metric(const MetricsRegistry& m) {
  for (const auto& n : m.names()) {
    if (n.find("retrieval") != std::string::npos && n.size() > 8 &&
        n.compare(n.size() - 8, 8, "_seconds") == 0 && m.histogram_total(n)) {
      return n;
    }
  }
  return {};
}

json::object by_label(const MetricsRegistry& m, const std::string& name, const std::string& label) {
  json::object out;
  if (auto v = m.values(name)) {
    for (auto& [labels, x] : *v) {
      for (auto& [k, val] : labels) {
        if (k == label) out[val] = x;
      }
    }
  }
  return out;
}

}  // namespace

void StatsRoutes::add_routes(Router& r) {
  r.add(http::verb::get, "/api/stats", [this](RouteContext& c) { return stats(c); });
}

json::object StatsRoutes::summary() const {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  json::object out{{"time_ms", now}};
  if (!s_.metrics) return out;
  const MetricsRegistry& m = *s_.metrics;

  out["generations"] = json::object{
      {"finished_total", number_or_null(m.total("troupe_generations_total"))},
      {"running", number_or_null(m.total("troupe_generations_running"))},
      {"by_outcome", by_label(m, "troupe_generations_total", "outcome")}};
  out["http"] = json::object{{"requests_total", number_or_null(m.total("troupe_http_requests_total"))},
                             {"connections", number_or_null(m.total("troupe_http_connections"))},
                             {"websocket", number_or_null(m.total("troupe_websocket_connections"))},
                             {"sse", number_or_null(m.total("troupe_sse_connections"))}};
  out["time_to_first_token"] = histogram_json(m, "troupe_generation_time_to_first_token_seconds");
  out["inter_token"] = histogram_json(m, "troupe_generation_inter_token_seconds");
  auto retrieval = retrieval_metric(m);
  out["retrieval"] = retrieval.empty() ? json::value(nullptr) : histogram_json(m, retrieval);
  out["event_loop_lag"] = histogram_json(m, "troupe_event_loop_lag_seconds");
  out["tasks"] = json::object{{"live", number_or_null(m.total("troupe_tasks_live"))},
                              {"past_deadline", number_or_null(m.total("troupe_tasks_past_deadline"))},
                              {"by_name", by_label(m, "troupe_tasks_live", "name")}};
  json::object mem{{"rss_bytes", number_or_null(m.total("process_resident_memory_bytes"))}};
  auto je = by_label(m, "troupe_jemalloc_bytes", "kind");
  mem["jemalloc"] = je.empty() ? json::value(nullptr) : json::value(std::move(je));
  mem["limit_bytes"] = number_or_null(m.total("troupe_memory_budget_limit_bytes"));
  mem["budget_state"] = number_or_null(m.total("troupe_memory_budget_state"));
  out["memory"] = std::move(mem);
  return out;
}

asio::awaitable<Reply> StatsRoutes::stats(RouteContext& c) {
  Reply r = reply_json(c, http::status::ok, summary());
  r.res.set(http::field::cache_control, "no-store");
  co_return r;
}

}  // namespace troupe::api
