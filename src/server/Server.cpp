#include "server/Server.h"

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

Server::Server(const Config& config, api::Api& api, TaskRegistry& tasks)
    : io_(config.server.io_threads > 0 ? config.server.io_threads
                                       : std::max(1u, std::thread::hardware_concurrency())),
      state_{config, api, tasks},
      acceptor_(io_),
      listener_scope_(TaskScope::create(tasks, "listener")) {
  state_.conn_scope = TaskScope::create(tasks, "connections");
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
  listener_scope_->spawn(io_.get_executor(), TaskSpec{"http.accept", "listener"},
                         [this](std::shared_ptr<Task>) { return accept_loop(&state_, &acceptor_); });
  int n = state_.config.server.io_threads > 0 ? state_.config.server.io_threads
                                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto guard = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(io_.get_executor());
  for (int i = 0; i < n; ++i) {
    threads_.emplace_back([this, guard] {
      for (;;) {
        try {
          io_.run();
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
    auto [ec, sock] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(ex, std::chrono::milliseconds(20));  // e.g. EMFILE: back off
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    sock.set_option(tcp::no_delay(true), ec);
    auto strand = asio::make_strand(acceptor->get_executor());
    std::string owner = "conn:";
    auto remote = sock.remote_endpoint(ec);
    owner += ec ? std::string("?") : remote.address().to_string() + ":" + std::to_string(remote.port());
    bool over = state->connections.load() >= static_cast<int>(state->config.server.max_connections);
    auto s = std::make_shared<tcp::socket>(std::move(sock));
    state->conn_scope->spawn(strand, TaskSpec{over ? "http.reject" : "http.session", owner},
                             [state, s, over](std::shared_ptr<Task> task) {
                               return over ? HttpSession::reject(state, std::move(*s))
                                           : HttpSession::run(state, std::move(task), std::move(*s));
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
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace troupe::server
