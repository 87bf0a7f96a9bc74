#include "sync/redis/RedisLock.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace troupe::sync::redis {

namespace asio = boost::asio;

namespace {

constexpr const char* kRenewScript = R"(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
)";

constexpr const char* kReleaseScript = R"(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)";

// Argument lists are built as plain vectors: GCC 12 rejects string-literal initializer lists
// inside coroutine frames.
template <class... A>
std::vector<std::string> args_of(const A&... a) {
  std::vector<std::string> v;
  v.reserve(sizeof...(a));
  (v.emplace_back(a), ...);
  return v;
}

}  // namespace

RedisLock::RedisLock(std::shared_ptr<RedisConnection> conn, std::string key, std::string owner,
                     std::chrono::milliseconds ttl)
    : conn_(std::move(conn)), key_(std::move(key)), owner_(std::move(owner)), ttl_(ttl) {}

asio::awaitable<Result<bool>> RedisLock::try_acquire() {
  if (held_) co_return true;
  auto fence = co_await conn_->command(args_of("INCR", key_ + ":fence"));
  if (!fence.ok()) co_return fence.error();
  if (fence->type != RedisReply::Type::integer) {
    co_return make_error(Errc::upstream, "redis lock: unexpected fence reply");
  }
  auto started = std::chrono::steady_clock::now();
  std::string token = owner_ + ":" + std::to_string(fence->integer);
  auto set = co_await conn_->command(
      args_of("SET", key_, token, "NX", "PX", std::to_string(ttl_.count())));
  if (!set.ok()) co_return set.error();
  if (set->is_nil()) co_return false;
  held_ = true;
  fence_ = fence->integer;
  token_ = std::move(token);
  valid_until_ = started + ttl_;
  co_return true;
}

asio::awaitable<Status> RedisLock::renew() {
  if (!held_) co_return make_error(Errc::conflict, "redis lock not held");
  auto started = std::chrono::steady_clock::now();
  auto r = co_await conn_->command(
      args_of("EVAL", kRenewScript, "1", key_, token_, std::to_string(ttl_.count())));
  if (!r.ok()) co_return r.error();
  if (r->type != RedisReply::Type::integer || r->integer != 1) {
    held_ = false;
    co_return make_error(Errc::conflict, "redis lock lost: " + key_);
  }
  valid_until_ = started + ttl_;
  co_return Status{};
}

asio::awaitable<Status> RedisLock::keep_alive(std::chrono::milliseconds every) {
  auto cs = co_await asio::this_coro::cancellation_state;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(every);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || cs.cancelled() != asio::cancellation_type::none) co_return Status{};
    auto s = co_await renew();
    if (s.ok()) continue;
    if (s.error().code == Errc::conflict) co_return s;
    // Redis unreachable: keep trying while the last renewal still covers us.
    if (std::chrono::steady_clock::now() >= valid_until_) {
      held_ = false;
      co_return make_error(Errc::conflict, "redis lock expired while Redis was unreachable");
    }
  }
}

asio::awaitable<Status> RedisLock::release() {
  if (!held_) co_return Status{};
  auto r = co_await conn_->command(args_of("EVAL", kReleaseScript, "1", key_, token_));
  if (!r.ok()) co_return r.error();  // still held as far as we know; expires by TTL anyway
  held_ = false;
  co_return Status{};
}

}  // namespace troupe::sync::redis
