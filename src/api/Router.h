// Router: method + path-pattern table. Patterns are literal segments and "{id}" (a positive
// integer). Distinguishes unknown paths (404) from known paths with another method (405 + Allow).
// A HEAD request matches the path's GET route (the server drops the body it would send).
// Thread-safety: build with add() before serving; match() is then read-only and thread-safe.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/url/url_view.hpp>
#include <functional>
#include <string>
#include <vector>

#include "api/Http.h"
#include "store/Records.h"

namespace troupe::api {

struct RouteContext {
  const HttpRequest& req;
  boost::urls::url_view url;
  store::User user;                 // authenticated caller (empty for public routes)
  std::vector<std::int64_t> ids;    // "{id}" segments in order
  bool keep_alive = true;

  std::int64_t id(std::size_t i = 0) const { return i < ids.size() ? ids[i] : 0; }
  // Query parameter value, or "" when absent.
  std::string query(std::string_view key) const;
};

using RouteHandler = std::function<boost::asio::awaitable<Reply>(RouteContext&)>;

class Router {
 public:
  void add(http::verb method, std::string pattern, RouteHandler handler, bool auth = true);

  struct Match {
    const RouteHandler* handler = nullptr;
    bool auth = true;
    std::size_t index = 0;  // position of the matched route (see patterns())
    std::vector<std::int64_t> ids;
    bool path_known = false;  // some route has this path (for 405)
    std::string allow;        // methods allowed on this path, comma separated
  };
  Match match(http::verb method, std::string_view path) const;
  // "METHOD /pattern" of every route, in add() order (metric labels).
  std::vector<std::string> patterns() const;

 private:
  struct Route {
    http::verb method;
    std::vector<std::string> segments;
    RouteHandler handler;
    bool auth;
    std::string pattern;
  };
  std::vector<Route> routes_;
};

}  // namespace troupe::api
