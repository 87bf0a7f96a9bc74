#include "server/Server.h"

#include <pthread.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "server/HttpSession.h"

namespace troupe::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

Result<tcp::endpoint> parse_listen(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return make_error(Errc::bad_request, "listen must be HOST:PORT: " + s);
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  int port = -1;
  try {
    port = std::stoi(s.substr(colon + 1));
  } catch (...) {
  }
  if (port < 0 || port > 65535) return make_error(Errc::bad_request, "bad port in listen: " + s);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return make_error(Errc::bad_request, "listen host must be an IP address: " + host);
  return tcp::endpoint(addr, static_cast<unsigned short>(port));
}

int io_thread_count(const Config& config) {
  return config.server.io_threads > 0 ? config.server.io_threads
                                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::vector<std::unique_ptr<asio::io_context>> make_io_contexts(int n) {
  std::vector<std::unique_ptr<asio::io_context>> v;
  for (int i = 0; i < n; ++i) v.push_back(std::make_unique<asio::io_context>(1));
  return v;
}

}  // namespace

std::uint64_t ShutdownHooks::add(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  auto id = next_++;
  hooks_.emplace(id, std::move(fn));
  return id;
}

void ShutdownHooks::remove(std::uint64_t id) {
  std::lock_guard lock(mu_);
  hooks_.erase(id);
}

void ShutdownHooks::run_all() {
  std::map<std::uint64_t, std::function<void()>> hooks;
  {
    std::lock_guard lock(mu_);
    hooks.swap(hooks_);
  }
  for (auto& [id, fn] : hooks) fn();
}

Server::Server(const Config& config, api::Api& api, TaskRegistry& tasks, MetricsRegistry* metrics)
    : ios_(make_io_contexts(io_thread_count(config))),
      state_{config, api, tasks},
      acceptor_(*ios_.front()),
      listener_scope_(TaskScope::create(tasks, "listener")) {
  state_.conn_scope = TaskScope::create(tasks, "connections");
  for (auto& io : ios_) state_.io_contexts.push_back(io.get());
  MetricsRegistry& m = metrics ? *metrics : own_metrics_;
  state_.ws_connections = &m.gauge("troupe_websocket_connections", "Open WebSocket connections.");
  state_.sse_connections = &m.gauge("troupe_sse_connections", "Open Server-Sent Events streams.");
  state_.rejected = &m.counter("troupe_connections_rejected_total",
                               "Connections refused with 503 because server.max_connections was reached.");
  state_.loop_lag = &m.histogram("troupe_event_loop_lag_seconds",
                                 "How late a 10 ms timer runs on each I/O thread (the server's pause time).",
                                 {}, {0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1});
  const std::vector<double> delivery_buckets{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                             0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
  const char* delivery_help =
      "Live chat events: from publish (wall clock of the publishing node) to the event handed to a "
      "subscriber's socket. A run of tokens published together counts once.";
  state_.delivery_sse = &m.histogram("troupe_bus_delivery_seconds", delivery_help, {{"transport", "sse"}}, delivery_buckets);
  state_.delivery_ws = &m.histogram("troupe_bus_delivery_seconds", delivery_help, {{"transport", "ws"}}, delivery_buckets);
  m.collect("troupe_http_connections", "Open HTTP connections (including WebSocket and SSE).",
            [this] { return std::vector<std::pair<MetricsRegistry::Labels, double>>{{{}, double(state_.connections.load())}}; });
}

asio::awaitable<void> Server::lag_monitor(ServerState* state, std::shared_ptr<Task> task) {
  // Cancellation (shutdown) ends the loop through the timer's error, never as an exception.
  co_await asio::this_coro::throw_if_cancelled(false);
  auto cs = co_await asio::this_coro::cancellation_state;
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex);
  // 100 samples per second per thread: enough for a p99.9 over a 20 s measurement.
  const auto period = std::chrono::milliseconds(10);
  task->set_state("sleeping");
  while (cs.cancelled() == asio::cancellation_type::none) {
    auto due = std::chrono::steady_clock::now() + period;
    t.expires_at(due);
    auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    state->loop_lag->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - due).count());
  }
}

Server::~Server() { join(); }

Result<tcp::endpoint> Server::listen() {
  auto ep = parse_listen(state_.config.server.listen);
  if (!ep.ok()) return ep.error();
  boost::system::error_code ec;
  acceptor_.open(ep->protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(*ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Errc::unavailable, "cannot listen on " + state_.config.server.listen + ": " + ec.message());
  return acceptor_.local_endpoint();
}

void Server::run() {
  listener_scope_->spawn(acceptor_.get_executor(), TaskSpec{"http.accept", "listener"},
                         [this](std::shared_ptr<Task>) { return accept_loop(&state_, &acceptor_); });
  for (auto& io : ios_) {
    listener_scope_->spawn(asio::make_strand(*io), TaskSpec{"loop.lag_monitor", "server"},
                           [this](std::shared_ptr<Task> t) { return lag_monitor(&state_, std::move(t)); });
  }
  for (auto& io : ios_) {
    asio::io_context* ctx = io.get();
    auto guard = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(ctx->get_executor());
    const std::string name = "troupe-io-" + std::to_string(threads_.size());
    threads_.emplace_back([ctx, guard, name] {
      pthread_setname_np(pthread_self(), name.c_str());  // for top -H, perf and the task dump
      for (;;) {
        try {
          ctx->run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("I/O thread: unhandled exception: {}", e.what());
        }
      }
    });
  }
}

asio::awaitable<void> Server::accept_loop(ServerState* state, tcp::acceptor* acceptor) {
  auto ex = co_await asio::this_coro::executor;
  for (;;) {
    asio::io_context& target = *state->io_contexts[state->next_io.fetch_add(1) % state->io_contexts.size()];
    auto [ec, sock] = co_await acceptor->async_accept(target, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(ex, std::chrono::milliseconds(20));  // e.g. EMFILE: back off
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec);
    auto strand = asio::make_strand(sock.get_executor());
    auto remote = sock.remote_endpoint(ec);
    std::string ip = ec ? std::string("?") : remote.address().to_string();
    std::string owner = "conn:" + ip + (ec ? "" : ":" + std::to_string(remote.port()));
    HttpSession::Admission admission = HttpSession::Admission::ok;
    if (state->connections.load() >= static_cast<int>(state->config.server.max_connections)) {
      admission = HttpSession::Admission::server_full;
    } else {
      std::lock_guard lock(state->ip_mu);
      int& n = state->per_ip[ip];
      if (state->config.limits.ip_connections > 0 && n >= static_cast<int>(state->config.limits.ip_connections)) {
        admission = HttpSession::Admission::ip_full;
      } else {
        ++n;
      }
    }
    if (admission != HttpSession::Admission::ok) state->rejected->inc();
    auto s = std::make_shared<tcp::socket>(std::move(sock));
    state->conn_scope->spawn(strand, TaskSpec{admission == HttpSession::Admission::ok ? "http.session" : "http.reject", owner},
                             [state, s, admission, ip](std::shared_ptr<Task> task) {
                               return admission != HttpSession::Admission::ok
                                          ? HttpSession::reject(state, std::move(*s), admission)
                                          : HttpSession::run(state, std::move(task), std::move(*s), ip);
                             });
  }
}

void Server::stop_accepting() {
  state_.shutting_down = true;
  asio::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
  listener_scope_->cancel();
  listener_scope_->wait_empty(std::chrono::milliseconds(1000));
}

void Server::close_connections(std::chrono::milliseconds grace) {
  // First politely (WebSockets send 1001 Going Away), then by cancellation.
  state_.shutdown_hooks.run_all();
  state_.conn_scope->wait_empty(grace / 2);
  state_.conn_scope->cancel();
  if (!state_.conn_scope->wait_empty(grace)) {
    spdlog::warn("{} connection task(s) still open after {} ms", state_.conn_scope->size(), grace.count());
  }
}

void Server::join() {
  if (threads_.empty()) return;
  for (auto& io : ios_) io->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace troupe::server
