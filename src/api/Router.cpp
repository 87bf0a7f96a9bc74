#include "api/Router.h"

#include <charconv>

namespace troupe::api {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool parse_id(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out > 0;
}

}  // namespace

std::string RouteContext::query(std::string_view key) const {
  auto params = url.params();
  auto it = params.find(key);
  if (it == params.end()) return {};
  return std::string((*it).value);
}

void Router::add(http::verb method, std::string pattern, RouteHandler handler, bool auth) {
  Route r{method, {}, std::move(handler), auth, pattern};
  for (auto seg : split_path(pattern)) r.segments.emplace_back(seg);
  routes_.push_back(std::move(r));
}

namespace {

// Appends `method` to a comma-separated Allow list unless it is there already.
void add_allowed(std::string& allow, std::string_view method) {
  std::string_view rest = allow;
  while (!rest.empty()) {
    auto comma = rest.find(", ");
    if (rest.substr(0, comma) == method) return;
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
  }
  if (!allow.empty()) allow += ", ";
  allow += method;
}

}  // namespace

Router::Match Router::match(http::verb method, std::string_view path) const {
  Match m;
  auto segs = split_path(path);
  for (std::size_t ri = 0; ri < routes_.size(); ++ri) {
    const auto& r = routes_[ri];
    if (r.segments.size() != segs.size()) continue;
    std::vector<std::int64_t> ids;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      if (r.segments[i] == "{id}") {
        std::int64_t v = 0;
        ok = parse_id(segs[i], v);
        ids.push_back(v);
      } else {
        ok = r.segments[i] == segs[i];
      }
    }
    if (!ok) continue;
    m.path_known = true;
    add_allowed(m.allow, http::to_string(r.method));
    if (r.method == http::verb::get) add_allowed(m.allow, "HEAD");
    // HEAD runs the GET handler; the server sends the headers without the body.
    const bool serves = r.method == method || (method == http::verb::head && r.method == http::verb::get);
    if (serves && !m.handler) {
      m.handler = &r.handler;
      m.auth = r.auth;
      m.index = ri;
      m.ids = std::move(ids);
    }
  }
  return m;
}

}  // namespace troupe::api

namespace troupe::api {

std::vector<std::string> Router::patterns() const {
  std::vector<std::string> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) out.push_back(std::string(http::to_string(r.method)) + " " + r.pattern);
  return out;
}

}  // namespace troupe::api
