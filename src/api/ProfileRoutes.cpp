#include "api/ProfileRoutes.h"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/RouteUtil.h"

namespace troupe::api {

namespace asio = boost::asio;

namespace {

struct BusyGuard {
  explicit BusyGuard(std::atomic<bool>& b) : b_(b) {}
  ~BusyGuard() { b_.store(false); }
  std::atomic<bool>& b_;
};

Reply binary(const RouteContext& c, std::string body, const char* type, const char* filename) {
  Reply r;
  r.res.result(http::status::ok);
  r.res.version(c.req.version());
  r.res.keep_alive(c.keep_alive);
  r.res.set(http::field::content_type, type);
  r.res.set(http::field::content_disposition, std::string("attachment; filename=\"") + filename + "\"");
  r.res.body() = std::move(body);
  r.res.prepare_payload();
  return r;
}

}  // namespace

void ProfileRoutes::add_routes(Router& r) {
  r.add(http::verb::get, "/debug/pprof/profile", [this](RouteContext& c) { return cpu(c); });
  r.add(http::verb::get, "/debug/pprof/heap", [this](RouteContext& c) { return heap(c); });
}

asio::awaitable<Reply> ProfileRoutes::cpu(RouteContext& c) {
  if (!c.user.is_admin) co_return reply_error(c, make_error(Errc::forbidden, "admin token required"));
  if (!s_.profilers || !s_.profilers->cpu_start) {
    co_return reply_error(c, make_error(Errc::unavailable, "this binary has no CPU profiler"));
  }
  auto seconds = query_int(c, "seconds", 10, 1, 120);
  if (!seconds.ok()) co_return reply_error(c, seconds.error());
  if (busy_.exchange(true)) co_return reply_error(c, make_error(Errc::conflict, "a profile is already running"));
  BusyGuard guard(busy_);
  auto path = (std::filesystem::temp_directory_path() /
               ("troupe-cpu-" + std::to_string(::getpid()) + ".prof")).string();
  if (!s_.profilers->cpu_start(path)) {
    co_return reply_error(c, make_error(Errc::internal, "the CPU profiler could not start"));
  }
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::seconds(*seconds));
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  s_.profilers->cpu_stop();
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ss.str().empty()) co_return reply_error(c, make_error(Errc::internal, "empty CPU profile"));
  co_return binary(c, ss.str(), "application/octet-stream", "troupe-cpu.prof");
}

asio::awaitable<Reply> ProfileRoutes::heap(RouteContext& c) {
  if (!c.user.is_admin) co_return reply_error(c, make_error(Errc::forbidden, "admin token required"));
  if (!s_.profilers || !s_.profilers->heap) {
    co_return reply_error(c, make_error(Errc::unavailable, "this binary has no heap profiler"));
  }
  if (busy_.exchange(true)) co_return reply_error(c, make_error(Errc::conflict, "a profile is already running"));
  BusyGuard guard(busy_);
  auto h = s_.profilers->heap();
  if (!h.ok()) co_return reply_error(c, h.error());
  co_return binary(c, std::move(h).value(), "text/plain; charset=utf-8", "troupe-heap.txt");
}

}  // namespace troupe::api
