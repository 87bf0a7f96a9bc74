// Server: the TCP listener and the I/O threads. Each I/O thread runs an io_context of its own (no
// scheduler lock shared between threads); accepted connections are dealt round-robin to them.
// Accepts connections up to server.max_connections (503 + Retry-After beyond), runs each as an
// HttpSession on its own strand inside the "connections" task scope, and shuts down in stages
// (stop accepting, close connections, join).
// Thread-safety: start/stop_accepting/close_connections/join from the main thread; the rest runs
// on the I/O threads.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/Api.h"
#include "core/Config.h"
#include "core/Metrics.h"
#include "core/TaskScope.h"

namespace troupe::server {

// Callbacks run once when shutdown starts (e.g. a WebSocket sends its 1001 close).
class ShutdownHooks {
 public:
  std::uint64_t add(std::function<void()> fn);
  void remove(std::uint64_t id);
  void run_all();

 private:
  std::mutex mu_;
  std::uint64_t next_ = 1;
  std::map<std::uint64_t, std::function<void()>> hooks_;
};

struct ServerState {
  const Config& config;
  api::Api& api;
  TaskRegistry& tasks;
  std::atomic<int> connections{0};
  std::atomic<bool> shutting_down{false};
  std::shared_ptr<TaskScope> conn_scope;  // HTTP/WS/SSE sessions and their pumps
  ShutdownHooks shutdown_hooks;
  std::mutex ip_mu;
  std::unordered_map<std::string, int> per_ip;  // open connections by client address
  // Instruments (never null: a private registry is used when the app passes none).
  Gauge* ws_connections = nullptr;
  Gauge* sse_connections = nullptr;
  Counter* rejected = nullptr;
  Histogram* loop_lag = nullptr;
  // Publish (on any node) -> the event's bytes handed to the socket, live events only.
  Histogram* delivery_sse = nullptr;
  Histogram* delivery_ws = nullptr;
  // One io_context per I/O thread; the accept loop deals new connections to them in turn.
  std::vector<boost::asio::io_context*> io_contexts;
  std::atomic<unsigned> next_io{0};
};

class Server {
 public:
  Server(const Config& config, api::Api& api, TaskRegistry& tasks, MetricsRegistry* metrics = nullptr);
  ~Server();

  // Binds and listens on server.listen; returns the bound endpoint (port 0 picks a free port).
  Result<boost::asio::ip::tcp::endpoint> listen();
  // Starts the accept loop and the I/O threads.
  void run();
  void stop_accepting();
  // Cancels every connection task and waits up to `grace` for them to end.
  void close_connections(std::chrono::milliseconds grace);
  // Stops the I/O threads and joins them.
  void join();
  int connections() const { return state_.connections.load(); }

 private:
  static boost::asio::awaitable<void> lag_monitor(ServerState* state, std::shared_ptr<Task> task);
  static boost::asio::awaitable<void> accept_loop(ServerState* state,
                                                  boost::asio::ip::tcp::acceptor* acceptor);

  std::vector<std::unique_ptr<boost::asio::io_context>> ios_;
  MetricsRegistry own_metrics_;
  ServerState state_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<TaskScope> listener_scope_;
  std::vector<std::thread> threads_;
};

}  // namespace troupe::server
