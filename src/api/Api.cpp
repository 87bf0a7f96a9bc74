#include "api/Api.h"

#include <boost/url/parse.hpp>
#include <cmath>
#include <spdlog/spdlog.h>

#include "api/CharacterRoutes.h"
#include "api/ChatRoutes.h"
#include "api/DebugRoutes.h"
#include "api/MemoryRoutes.h"
#include "api/ProfileRoutes.h"
#include "api/MessageRoutes.h"
#include "api/UserRoutes.h"
#include "api/PersonaRoutes.h"
#include "api/StatsRoutes.h"

namespace troupe::api {

namespace asio = boost::asio;

struct Api::Groups {
  explicit Groups(Services& s)
      : characters(s), personas(s), chats(s), messages(s), debug(s), profiles(s), stats(s), memory(s),
        users(s) {}
  CharacterRoutes characters;
  PersonaRoutes personas;
  ChatRoutes chats;
  MessageRoutes messages;
  DebugRoutes debug;
  ProfileRoutes profiles;
  StatsRoutes stats;
  MemoryRoutes memory;
  UserRoutes users;
};

namespace {

asio::awaitable<Reply> healthz(RouteContext& c) {
  co_return json_reply(http::status::ok, boost::json::object{{"status", "ok"}}, c.req.version(),
                       c.keep_alive);
}

}  // namespace

bool sheds_under_memory_pressure(http::verb method, std::string_view path) {
  // Everything under /api/ is new work (reads, posts, imports, generations, new event streams)
  // except the dashboard's figures and stopping a generation, which frees memory. Health, readiness,
  // metrics, debug routes and the UI's static files keep answering.
  if (path.substr(0, 5) != "/api/") return false;
  if (path == "/api/stats") return false;
  if (method == http::verb::post && path.substr(0, 17) == "/api/generations/" && path.size() > 5 &&
      path.substr(path.size() - 5) == "/stop") {
    return false;
  }
  return true;
}

#ifndef TROUPE_DEFAULT_WEB_DIR
#define TROUPE_DEFAULT_WEB_DIR "web"
#endif

Api::Api(Services services)
    : s_(services),
      static_(services.config.server.web_dir.empty() ? std::string(TROUPE_DEFAULT_WEB_DIR)
                                                     : services.config.server.web_dir),
      user_rate_(services.config.limits.user_requests_per_second, services.config.limits.user_burst),
      groups_(std::make_unique<Groups>(s_)) {
  router_.add(http::verb::get, "/healthz", healthz, false);
  router_.add(http::verb::get, "/readyz", [this](RouteContext& c) { return readyz(c); }, false);
  groups_->characters.add_routes(router_);
  groups_->personas.add_routes(router_);
  groups_->chats.add_routes(router_);
  groups_->messages.add_routes(router_);
  router_.add(http::verb::get, "/metrics", [this](RouteContext& c) { return metrics(c); }, false);
  router_.add(http::verb::get, "/debug/tasks", [this](RouteContext& c) { return groups_->debug.tasks(c); });
  groups_->profiles.add_routes(router_);
  groups_->stats.add_routes(router_);
  groups_->memory.add_routes(router_);
  groups_->users.add_routes(router_);
  if (s_.metrics) http_metrics_ = std::make_unique<HttpMetrics>(*s_.metrics, router_.patterns());
}

asio::awaitable<Reply> Api::metrics(RouteContext& c) {
  Reply r;
  r.res.result(http::status::ok);
  r.res.version(c.req.version());
  r.res.keep_alive(c.keep_alive);
  r.res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  r.res.body() = s_.metrics ? s_.metrics->render() : std::string();
  r.res.prepare_payload();
  co_return r;
}

Api::~Api() = default;

asio::awaitable<Reply> Api::readyz(RouteContext& c) {
  bool ready = s_.ready.load();
  boost::json::object body{{"status", ready ? "ready" : "not_ready"}};
  if (ready && s_.memory_budget && s_.memory_budget->shedding()) {
    ready = false;
    body = {{"status", "not_ready"}, {"reason", s_.memory_budget->reason()}};
  }
  if (ready && s_.degraded_reason) {
    if (auto why = s_.degraded_reason(); !why.empty()) {
      ready = false;
      body = {{"status", "not_ready"}, {"reason", why}};
    }
  }
  body["ready"] = ready;
  co_return json_reply(ready ? http::status::ok : http::status::service_unavailable, body, c.req.version(),
                       c.keep_alive);
}

std::string bearer_token(const HttpRequest& req) {
  auto h = req[http::field::authorization];
  if (h.size() > 7 && (h.substr(0, 7) == "Bearer " || h.substr(0, 7) == "bearer ")) {
    return std::string(h.substr(7));
  }
  auto u = boost::urls::parse_origin_form(req.target());
  if (u) {
    auto params = u->params();
    auto it = params.find("access_token");
    if (it != params.end()) return std::string((*it).value);
  }
  return {};
}

asio::awaitable<Result<store::User>> Api::authenticate(const HttpRequest& req) {
  co_return co_await s_.auth.authenticate(bearer_token(req));
}

asio::awaitable<Reply> Api::handle(const HttpRequest& req) {
  const auto start = std::chrono::steady_clock::now();
  std::size_t route = HttpMetrics::npos;
  Reply r = co_await dispatch(req, route);
  if (http_metrics_) {
    http_metrics_->record(route, r.res.result_int(),
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  co_return r;
}

asio::awaitable<Reply> Api::dispatch(const HttpRequest& req, std::size_t& route) {
  const bool keep_alive = req.keep_alive();
  const unsigned version = req.version();
  try {
    auto parsed = boost::urls::parse_origin_form(req.target());
    if (!parsed) {
      co_return error_reply(make_error(Errc::bad_request, "malformed request target"), version, keep_alive);
    }
    if (auto file = static_.serve(req, parsed->path())) co_return std::move(*file);
    auto m = router_.match(req.method(), parsed->path());
    if (!m.handler) {
      if (m.path_known) {
        Reply r = error_reply(make_error(Errc::method_not_allowed,
                                         "method " + std::string(req.method_string()) +
                                             " is not allowed here; allowed: " + m.allow),
                              version, keep_alive);
        r.res.set(http::field::allow, m.allow);
        co_return r;
      }
      co_return error_reply(make_error(Errc::not_found, "no route for " + std::string(parsed->path())),
                            version, keep_alive);
    }
    route = m.index;
    if (s_.memory_budget && s_.memory_budget->shedding() && sheds_under_memory_pressure(req.method(), parsed->path())) {
      s_.memory_budget->count_shed();
      Reply r = error_reply(make_error(Errc::unavailable, s_.memory_budget->reason() + "; try again later"),
                            version, keep_alive);
      r.res.set(http::field::retry_after, "5");
      co_return r;
    }
    RouteContext ctx{req, *parsed, {}, std::move(m.ids), keep_alive};
    if (m.auth) {
      auto user = co_await authenticate(req);
      if (!user.ok()) {
        Reply r = error_reply(user.error(), version, keep_alive);
        if (user.error().code == Errc::unauthorized) r.res.set(http::field::www_authenticate, "Bearer");
        co_return r;
      }
      ctx.user = std::move(user).value();
      auto d = user_rate_.allow(std::to_string(ctx.user.id));
      if (!d.allowed) {
        Reply r = error_reply(make_error(Errc::rate_limited, "too many requests for this user; slow down"),
                              version, keep_alive);
        r.res.set(http::field::retry_after, std::to_string(static_cast<int>(std::ceil(d.retry_after_seconds))));
        co_return r;
      }
    }
    co_return co_await (*m.handler)(ctx);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: unhandled exception: {}", std::string(req.method_string()),
                  std::string(req.target()), e.what());
  }
  co_return error_reply(make_error(Errc::internal, "internal error"), version, false);
}

}  // namespace troupe::api
