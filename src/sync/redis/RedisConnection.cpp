#include "sync/redis/RedisConnection.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <future>
#include <optional>

#include "sync/redis/RedisAsioAdapter.h"

namespace troupe::sync::redis {

namespace asio = boost::asio;

namespace {

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:  // only nested (inside an array); top-level errors become Errors
      out.type = RedisReply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::nil;
  }
  return out;
}

Result<RedisReply> to_result(const redisReply* r) {
  if (!r) return make_error(Errc::unavailable, "redis connection lost");
  if (r->type == REDIS_REPLY_ERROR) {
    return make_error(Errc::upstream, "redis: " + std::string(r->str, r->len));
  }
  return convert(r);
}

}  // namespace

std::string_view redis_state_name(RedisState s) noexcept {
  switch (s) {
    case RedisState::connecting: return "connecting";
    case RedisState::connected: return "connected";
    case RedisState::degraded: return "degraded";
    case RedisState::stopped: return "stopped";
  }
  return "unknown";
}

Result<RedisEndpoint> RedisEndpoint::parse(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) != scheme) {
    return make_error(Errc::bad_request, "redis URL must start with redis://");
  }
  url.remove_prefix(scheme.size());
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  RedisEndpoint ep;
  auto colon = url.rfind(':');
  std::string_view host = colon == std::string_view::npos ? url : url.substr(0, colon);
  if (host.empty() || host.find_first_of("/@?") != std::string_view::npos) {
    return make_error(Errc::bad_request, "redis URL needs a host (redis://host:port)");
  }
  ep.host = std::string(host);
  if (colon != std::string_view::npos) {
    auto p = url.substr(colon + 1);
    int port = 0;
    auto r = std::from_chars(p.data(), p.data() + p.size(), port);
    if (r.ec != std::errc{} || r.ptr != p.data() + p.size() || port <= 0 || port > 65535) {
      return make_error(Errc::bad_request, "redis URL has a bad port");
    }
    ep.port = port;
  }
  return ep;
}

RedisConnection::RedisConnection(asio::any_io_executor ex, TaskRegistry& registry,
                                 RedisConnectionOptions opts, std::string name)
    : strand_(asio::make_strand(std::move(ex))),
      opts_(std::move(opts)),
      name_(std::move(name)),
      scope_(TaskScope::create(registry, "redis.connection")),
      wake_(strand_) {}

std::shared_ptr<RedisConnection> RedisConnection::create(asio::any_io_executor ex,
                                                         TaskRegistry& registry,
                                                         RedisConnectionOptions opts,
                                                         std::string name) {
  return std::shared_ptr<RedisConnection>(
      new RedisConnection(std::move(ex), registry, std::move(opts), std::move(name)));
}

RedisConnection::~RedisConnection() { scope_->cancel(); }

void RedisConnection::start() {
  auto self = shared_from_this();
  scope_->spawn(strand_,
                TaskSpec{"redis.connection",
                         name_ + "@" + opts_.endpoint.host + ":" + std::to_string(opts_.endpoint.port),
                         {}},
                [self](std::shared_ptr<Task> task) { return self->run(std::move(task)); });
}

void RedisConnection::stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stopping_ = true;
    self->wake_.cancel();
  });
}

bool RedisConnection::wait_stopped(std::chrono::milliseconds grace) const {
  return scope_->wait_empty(grace);
}

asio::awaitable<void> RedisConnection::run(std::shared_ptr<Task> task) {
  auto self = shared_from_this();
  auto cs = co_await asio::this_coro::cancellation_state;
  auto cancelled = [&] { return stopping_ || cs.cancelled() != asio::cancellation_type::none; };
  auto backoff = opts_.backoff_initial;
  while (!cancelled()) {
    task->set_state("connecting");
    if (co_await connect_once()) {
      backoff = opts_.backoff_initial;
      state_.store(RedisState::connected, std::memory_order_release);
      spdlog::info("redis {}: connected to {}:{}", name_, opts_.endpoint.host, opts_.endpoint.port);
      after_connect();
      task->set_state("connected");
      while (ac_ && !cancelled()) {
        wake_.expires_at(asio::steady_timer::time_point::max());
        (void)co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      if (cancelled()) break;
      reconnects_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("redis {}: connection lost; reconnecting", name_);
    }
    state_.store(RedisState::degraded, std::memory_order_release);
    task->set_state("backoff");
    wake_.expires_after(backoff);
    (void)co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    backoff = std::min(backoff * 2, opts_.backoff_max);
  }
  if (ac_) {
    auto* ac = ac_;
    ac_ = nullptr;
    redisAsyncFree(ac);  // completes pending commands with "connection lost"
  }
  state_.store(RedisState::stopped, std::memory_order_release);
}

asio::awaitable<bool> RedisConnection::connect_once() {
  auto cs = co_await asio::this_coro::cancellation_state;
  connect_status_ = 0;
  redisAsyncContext* ac = redisAsyncConnect(opts_.endpoint.host.c_str(), opts_.endpoint.port);
  if (!ac) co_return false;
  if (ac->err) {
    spdlog::debug("redis {}: connect failed: {}", name_, ac->errstr);
    redisAsyncFree(ac);
    co_return false;
  }
  ac->data = this;
  RedisAsioAdapter::attach(strand_, ac);
  ac_ = ac;
  redisAsyncSetDisconnectCallback(ac, &RedisConnection::on_disconnect_cb);
  redisAsyncSetConnectCallback(ac, &RedisConnection::on_connect_cb);  // arms the first write wait
  wake_.expires_after(opts_.connect_timeout);
  while (connect_status_ == 0 && !stopping_ && cs.cancelled() == asio::cancellation_type::none) {
    auto [ec] = co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!ec) break;  // connect timeout
  }
  if (connect_status_ == 1 && ac_) co_return true;
  if (ac_) {
    auto* a = ac_;
    ac_ = nullptr;
    redisAsyncFree(a);
  }
  co_return false;
}

void RedisConnection::on_connect_cb(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisConnection*>(ac->data);
  if (status == REDIS_OK) {
    self->connect_status_ = 1;
  } else {
    self->connect_status_ = -1;
    self->ac_ = nullptr;  // hiredis frees the context after this callback
  }
  self->wake_.cancel();
}

void RedisConnection::on_disconnect_cb(const redisAsyncContext* ac, int) {
  auto* self = static_cast<RedisConnection*>(ac->data);
  self->ac_ = nullptr;  // hiredis frees the context after this callback
  self->active_.clear();
  self->confirmed_.clear();
  self->unsub_pending_.clear();
  if (!self->stopping_) self->state_.store(RedisState::degraded, std::memory_order_release);
  self->wake_.cancel();
}

void RedisConnection::after_connect() {
  active_.clear();
  confirmed_.clear();
  unsub_pending_.clear();
  ready_batch_ = wanted_;
  ready_reported_ = false;
  for (const auto& ch : wanted_) issue_subscribe(ch);
  if (ready_batch_.empty()) {
    ready_reported_ = true;
    if (on_connect_) on_connect_();
  }
}

void RedisConnection::issue_subscribe(const std::string& channel) {
  const char* argv[2] = {"SUBSCRIBE", channel.c_str()};
  std::size_t lens[2] = {9, channel.size()};
  if (redisAsyncCommandArgv(ac_, &RedisConnection::on_pubsub_cb, nullptr, 2, argv, lens) == REDIS_OK) {
    active_.insert(channel);
  }
}

void RedisConnection::on_pubsub_cb(redisAsyncContext* ac, void* reply, void*) {
  if (!reply) return;  // connection lost: after_connect() resubscribes
  auto* self = static_cast<RedisConnection*>(ac->data);
  auto r = to_result(static_cast<redisReply*>(reply));
  if (r.ok()) self->on_pubsub(std::move(*r));
}

void RedisConnection::on_pubsub(RedisReply reply) {
  if (reply.type != RedisReply::Type::array || reply.elements.size() < 3) return;
  const std::string& kind = reply.elements[0].str;
  const std::string& channel = reply.elements[1].str;
  if (kind == "message") {
    if (on_message_) on_message_(channel, reply.elements[2].str);
  } else if (kind == "subscribe") {
    confirmed_.insert(channel);
    auto it = on_active_.find(channel);
    if (it != on_active_.end()) {
      auto cbs = std::move(it->second);
      on_active_.erase(it);
      for (auto& cb : cbs) cb();
    }
    if (!ready_reported_ && ready_batch_.erase(channel) && ready_batch_.empty()) {
      ready_reported_ = true;
      if (on_connect_) on_connect_();
    }
  } else if (kind == "unsubscribe") {
    unsub_pending_.erase(channel);
    // A subscribe requested while the unsubscribe was in flight is issued now (hiredis drops the
    // channel's callback when the unsubscribe reply arrives).
    if (wanted_.count(channel) && ac_ && connected() && !active_.count(channel)) {
      issue_subscribe(channel);
    }
  }
}

void RedisConnection::subscribe(std::string channel, std::function<void()> on_active) {
  asio::post(strand_, [self = shared_from_this(), channel = std::move(channel),
                       cb = std::move(on_active)]() mutable {
    self->wanted_.insert(channel);
    self->channel_count_.store(self->wanted_.size(), std::memory_order_relaxed);
    bool live = self->ac_ && self->connected();
    if (cb) {
      if (live && self->confirmed_.count(channel) && !self->unsub_pending_.count(channel)) {
        cb();
      } else {
        self->on_active_[channel].push_back(std::move(cb));
      }
    }
    if (live && !self->active_.count(channel) && !self->unsub_pending_.count(channel)) {
      self->issue_subscribe(channel);
    }
  });
}

void RedisConnection::unsubscribe(std::string channel) {
  asio::post(strand_, [self = shared_from_this(), channel = std::move(channel)] {
    self->wanted_.erase(channel);
    self->on_active_.erase(channel);
    self->channel_count_.store(self->wanted_.size(), std::memory_order_relaxed);
    if (!self->ac_ || !self->active_.count(channel)) return;
    const char* argv[2] = {"UNSUBSCRIBE", channel.c_str()};
    std::size_t lens[2] = {11, channel.size()};
    if (redisAsyncCommandArgv(self->ac_, &RedisConnection::on_pubsub_cb, nullptr, 2, argv, lens) ==
        REDIS_OK) {
      self->active_.erase(channel);
      self->confirmed_.erase(channel);
      self->unsub_pending_.insert(channel);
    }
  });
}

void RedisConnection::on_reply_cb(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<RedisConnection*>(ac->data);
  auto id = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(privdata));
  auto it = self->pending_.find(id);
  if (it == self->pending_.end()) return;
  auto handler = std::move(it->second);
  self->pending_.erase(it);
  if (handler) handler(to_result(static_cast<redisReply*>(reply)));
}

void RedisConnection::send_on_strand(const std::vector<std::string>& args, ReplyHandler on_reply) {
  auto fail = [&](const char* why) {
    if (on_reply) on_reply(make_error(Errc::unavailable, why));
  };
  if (!ac_ || !connected()) return fail("redis not connected");
  if (pending_.size() >= opts_.max_in_flight) return fail("redis: too many commands in flight");
  if (args.empty()) return fail("redis: empty command");
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto id = next_id_++;
  pending_.emplace(id, std::move(on_reply));
  if (redisAsyncCommandArgv(ac_, &RedisConnection::on_reply_cb,
                            reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)),
                            static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK) {
    auto h = std::move(pending_[id]);
    pending_.erase(id);
    if (h) h(make_error(Errc::unavailable, "redis: command not accepted"));
  }
}

void RedisConnection::send(std::vector<std::string> args, ReplyHandler on_reply) {
  asio::post(strand_, [self = shared_from_this(), args = std::move(args),
                       h = std::move(on_reply)]() mutable { self->send_on_strand(args, std::move(h)); });
}

asio::awaitable<std::optional<Result<RedisReply>>> RedisConnection::command_on_strand(
    std::vector<std::string> args, std::chrono::milliseconds timeout) {
  auto self = shared_from_this();
  auto cs = co_await asio::this_coro::cancellation_state;
  struct Wait {
    explicit Wait(const asio::any_io_executor& ex) : timer(ex) {}
    std::optional<Result<RedisReply>> out;
    asio::steady_timer timer;
  };
  auto w = std::make_shared<Wait>(strand_);
  w->timer.expires_after(timeout);
  send_on_strand(args, [w](Result<RedisReply> r) {
    w->out.emplace(std::move(r));
    w->timer.cancel();
  });
  if (!w->out) (void)co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (w->out) co_return std::move(w->out);
  if (cs.cancelled() != asio::cancellation_type::none) {
    co_return Result<RedisReply>(make_error(Errc::cancelled, "redis command cancelled"));
  }
  co_return Result<RedisReply>(make_error(Errc::timeout, "redis command timed out"));
}

asio::awaitable<Result<RedisReply>> RedisConnection::command(std::vector<std::string> args,
                                                             std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) timeout = opts_.command_timeout;
  auto r = co_await asio::co_spawn(strand_, command_on_strand(std::move(args), timeout),
                                   asio::use_awaitable);
  if (!r) co_return make_error(Errc::internal, "redis command ended without a result");
  co_return std::move(*r);
}

Result<RedisReply> RedisConnection::call_blocking(std::vector<std::string> args,
                                                  std::chrono::milliseconds timeout) {
  auto p = std::make_shared<std::promise<Result<RedisReply>>>();
  auto f = p->get_future();
  send(std::move(args), [p](Result<RedisReply> r) { p->set_value(std::move(r)); });
  if (f.wait_for(timeout) != std::future_status::ready) {
    return make_error(Errc::timeout, "redis command timed out");
  }
  return f.get();
}

}  // namespace troupe::sync::redis
