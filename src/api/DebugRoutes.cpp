#include "api/DebugRoutes.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "api/RouteUtil.h"

namespace troupe::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

struct Group {
  std::size_t count = 0;
  std::size_t past_deadline = 0;
  double min_age = 1e300;
  double max_age = 0;
};

std::string fmt_age(double s) {
  char buf[32];
  if (s < 1) std::snprintf(buf, sizeof buf, "%.0fms", s * 1000);
  else if (s < 120) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else std::snprintf(buf, sizeof buf, "%.1fm", s / 60);
  return buf;
}

}  // namespace

asio::awaitable<Reply> DebugRoutes::tasks(RouteContext& c) {
  if (!c.user.is_admin) co_return reply_error(c, make_error(Errc::forbidden, "admin token required"));
  if (!s_.tasks) co_return reply_error(c, make_error(Errc::unavailable, "task registry not available"));
  auto snap = s_.tasks->snapshot();
  const bool as_json = c.query("format") == "json";
  const bool every = c.query("debug") == "2";

  std::map<std::pair<std::string, std::string>, Group> groups;
  std::size_t past = 0;
  for (const auto& t : snap) {
    auto& g = groups[{t.name, t.state}];
    ++g.count;
    g.min_age = std::min(g.min_age, t.age_seconds);
    g.max_age = std::max(g.max_age, t.age_seconds);
    if (t.past_deadline) {
      ++g.past_deadline;
      ++past;
    }
  }
  std::vector<std::pair<std::pair<std::string, std::string>, Group>> sorted(groups.begin(), groups.end());
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.second.count > b.second.count; });

  if (as_json) {
    json::array gs;
    for (auto& [key, g] : sorted) {
      gs.push_back(json::object{{"name", key.first}, {"state", key.second}, {"count", g.count},
                                {"past_deadline", g.past_deadline}, {"min_age_seconds", g.min_age},
                                {"max_age_seconds", g.max_age}});
    }
    json::object out{{"total", snap.size()}, {"past_deadline", past}, {"groups", std::move(gs)}};
    if (every) {
      json::array all;
      for (const auto& t : snap) {
        all.push_back(json::object{{"id", t.id}, {"name", t.name}, {"owner", t.owner}, {"state", t.state},
                                   {"age_seconds", t.age_seconds}, {"past_deadline", t.past_deadline}});
      }
      out["tasks"] = std::move(all);
    }
    co_return reply_json(c, http::status::ok, out);
  }

  std::string text = "troupe task dump: " + std::to_string(snap.size()) + " live task(s), " +
                     std::to_string(past) + " past deadline\n\n";
  for (auto& [key, g] : sorted) {
    text += std::to_string(g.count) + " @ " + key.first + " [" + key.second + "] age " + fmt_age(g.min_age) +
            ".." + fmt_age(g.max_age) + (g.past_deadline ? " (" + std::to_string(g.past_deadline) + " past deadline)" : "") +
            "\n";
  }
  if (every) {
    text += "\n";
    for (const auto& t : snap) {
      text += "task " + std::to_string(t.id) + " " + t.name + " [" + t.state + "] owner=" + t.owner +
              " age=" + fmt_age(t.age_seconds) + (t.past_deadline ? " PAST-DEADLINE" : "") + "\n";
    }
  }
  Reply r;
  r.res.result(http::status::ok);
  r.res.version(c.req.version());
  r.res.keep_alive(c.keep_alive);
  r.res.set(http::field::content_type, "text/plain; charset=utf-8");
  r.res.body() = std::move(text);
  r.res.prepare_payload();
  co_return r;
}

}  // namespace troupe::api
