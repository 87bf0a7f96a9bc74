// RedisConnection: one hiredis async connection driven by Asio (RedisAsioAdapter) on one strand.
// Connects with a timeout, reconnects with exponential backoff, runs commands as awaitables with a
// deadline (`co_await conn->command({"SET", k, v, "NX", "PX", "30000"})`), keeps a set of Pub/Sub
// channels subscribed across reconnects, and reports its state (connected / degraded) for
// readiness checks and metrics. The connect loop is a task in the TaskRegistry.
// Thread-safety: every public member may be called from any thread; call_blocking() only from a
// thread that is not running the connection's executor. Handlers run on the connection's strand.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/Result.h"
#include "core/TaskScope.h"
#include "sync/redis/RedisReply.h"

struct redisAsyncContext;

namespace troupe::sync::redis {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  // "redis://host:port" (port defaults to 6379).
  static Result<RedisEndpoint> parse(std::string_view url);
};

struct RedisConnectionOptions {
  RedisEndpoint endpoint;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};  // default deadline of command()
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  std::size_t max_in_flight = 100000;  // commands awaiting a reply; beyond: unavailable
};

enum class RedisState { connecting, connected, degraded, stopped };
std::string_view redis_state_name(RedisState s) noexcept;

class RedisConnection : public std::enable_shared_from_this<RedisConnection> {
 public:
  using ReplyHandler = std::function<void(Result<RedisReply>)>;
  using MessageHandler = std::function<void(const std::string& channel, const std::string& payload)>;

  static std::shared_ptr<RedisConnection> create(boost::asio::any_io_executor ex,
                                                 TaskRegistry& registry,
                                                 RedisConnectionOptions opts, std::string name);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Set before start(). Messages of subscribed channels.
  void set_message_handler(MessageHandler h) { on_message_ = std::move(h); }
  // Set before start(). Called after every (re)connect once all wanted channels are subscribed.
  void set_connect_handler(std::function<void()> h) { on_connect_ = std::move(h); }

  void start();
  // Ends the connect loop and frees the context; pending commands fail with `unavailable`.
  void stop();
  // Blocks (non-I/O thread) until the connect loop has ended or `grace` passed.
  bool wait_stopped(std::chrono::milliseconds grace) const;

  // One command; the reply, or unavailable (not connected / connection lost), timeout (past the
  // deadline; 0 = options' command_timeout), upstream (Redis error reply), cancelled.
  boost::asio::awaitable<Result<RedisReply>> command(std::vector<std::string> args,
                                                     std::chrono::milliseconds timeout = {});
  // Fire-and-forget in call order (commands sent from one thread keep their order on the wire).
  // `on_reply` (may be empty) runs on the strand; connection loss completes it with unavailable.
  void send(std::vector<std::string> args, ReplyHandler on_reply);
  // command() for a blocking caller (never from this connection's I/O threads).
  Result<RedisReply> call_blocking(std::vector<std::string> args, std::chrono::milliseconds timeout);

  // Keeps `channel` subscribed (across reconnects) until unsubscribe(). `on_active` runs once on
  // the strand when the subscription is confirmed by the server.
  void subscribe(std::string channel, std::function<void()> on_active = {});
  void unsubscribe(std::string channel);

  RedisState state() const { return state_.load(std::memory_order_acquire); }
  bool connected() const { return state() == RedisState::connected; }
  std::uint64_t reconnects() const { return reconnects_.load(std::memory_order_relaxed); }
  std::size_t subscribed_channels() const { return channel_count_.load(std::memory_order_relaxed); }
  const boost::asio::any_io_executor& strand() const { return strand_; }

 private:
  RedisConnection(boost::asio::any_io_executor ex, TaskRegistry& registry,
                  RedisConnectionOptions opts, std::string name);
  boost::asio::awaitable<void> run(std::shared_ptr<Task> task);
  boost::asio::awaitable<bool> connect_once();
  boost::asio::awaitable<std::optional<Result<RedisReply>>> command_on_strand(
      std::vector<std::string> args, std::chrono::milliseconds timeout);
  void send_on_strand(const std::vector<std::string>& args, ReplyHandler on_reply);
  void issue_subscribe(const std::string& channel);
  void after_connect();
  void on_pubsub(RedisReply reply);
  static void on_reply_cb(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_pubsub_cb(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_connect_cb(const redisAsyncContext* ac, int status);
  static void on_disconnect_cb(const redisAsyncContext* ac, int status);

  boost::asio::any_io_executor strand_;
  RedisConnectionOptions opts_;
  std::string name_;
  std::shared_ptr<TaskScope> scope_;
  MessageHandler on_message_;
  std::function<void()> on_connect_;
  std::atomic<RedisState> state_{RedisState::connecting};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::size_t> channel_count_{0};

  // Strand only.
  redisAsyncContext* ac_ = nullptr;
  int connect_status_ = 0;  // 0 pending, 1 ok, -1 failed
  bool stopping_ = false;
  boost::asio::steady_timer wake_;  // cancelled on connect / disconnect / stop
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, ReplyHandler> pending_;
  std::set<std::string> wanted_;          // channels to keep subscribed
  std::set<std::string> active_;          // SUBSCRIBE sent on this context
  std::set<std::string> unsub_pending_;   // UNSUBSCRIBE sent, reply not yet seen
  std::map<std::string, std::vector<std::function<void()>>> on_active_;
  std::set<std::string> confirmed_;       // SUBSCRIBE confirmed on this context
  std::set<std::string> ready_batch_;     // confirmations awaited before on_connect_
  bool ready_reported_ = false;
};

}  // namespace troupe::sync::redis
