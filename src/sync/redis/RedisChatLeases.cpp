#include "sync/redis/RedisChatLeases.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "sync/redis/RedisLock.h"

namespace troupe::sync::redis {

namespace asio = boost::asio;

namespace {

// How long release() waits for the renewal task to end before leaving the key to expire.
constexpr auto kStopWait = std::chrono::seconds(2);

class RedisChatLease final : public ChatLease, public std::enable_shared_from_this<RedisChatLease> {
 public:
  RedisChatLease(std::shared_ptr<RedisChatLeases::Shared> s, std::int64_t chat_id, RedisLock lock)
      : s_(std::move(s)), chat_id_(chat_id), lock_(std::move(lock)) {}

  RedisLock& lock() { return lock_; }
  void granted() {
    counted_ = true;
    s_->held.fetch_add(1);
  }
  void provisional() { confirmed_.store(false); }
  bool confirmed() const override { return confirmed_.load(); }

  void keep(std::function<void()> on_lost) override {
    on_lost_ = std::move(on_lost);
    renewing_.store(true, std::memory_order_release);
    auto self = shared_from_this();
    TaskSpec spec{"chat.lease", "chat:" + std::to_string(chat_id_), s_->max_hold};
    auto task = s_->scope->spawn(s_->ex, std::move(spec), [self](std::shared_ptr<Task> t) {
      return self->renew(std::move(t));
    });
    if (!task) {
      renewing_.store(false, std::memory_order_release);
      return;
    }
    task_id_ = task->id();
  }

  asio::awaitable<Status> release() override {
    if (releasing_.exchange(true)) co_return Status{};
    if (task_id_) s_->scope->cancel_task(task_id_);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto until = std::chrono::steady_clock::now() + kStopWait;
    while (renewing_.load(std::memory_order_acquire)) {
      if (std::chrono::steady_clock::now() >= until) {
        uncount();
        co_return make_error(Errc::timeout, "chat lease renewal did not stop; the key expires by TTL");
      }
      timer.expires_after(std::chrono::milliseconds(2));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    uncount();
    co_return co_await lock_.release();
  }

  void release_detached() override {
    auto self = shared_from_this();
    TaskSpec spec{"chat.lease.release", "chat:" + std::to_string(chat_id_), kStopWait * 2};
    (void)s_->scope->spawn(s_->ex, std::move(spec), [self](std::shared_ptr<Task>) -> asio::awaitable<void> {
      auto s = co_await self->release();
      if (!s.ok()) spdlog::warn("chat {}: lease not released: {}", self->chat_id_, s.error().message);
    });
  }

  std::int64_t fence() const override { return lock_.fencing_token(); }

 private:
  asio::awaitable<void> renew(std::shared_ptr<Task> task) {
    struct Ended {
      std::atomic<bool>& flag;
      ~Ended() { flag.store(false, std::memory_order_release); }
    } ended{renewing_};
    Status s;
    try {
      if (!confirmed_.load()) s = co_await confirm(task);
      if (s.ok() && confirmed_.load()) {
        task->set_state("renewing");
        s = co_await lock_.keep_alive(s_->renew_every);
      }
    } catch (const std::exception&) {
      s = Status{};  // cancelled while awaiting: release() or shutdown
    }
    if (s.ok() || releasing_.load()) co_return;
    spdlog::warn("chat {}: generation lease lost: {}", chat_id_, s.error().message);
    s_->losses.fetch_add(1);
    uncount();
    if (on_lost_) on_lost_();
  }

  // A provisional lease: tries to take the key every renew interval until Redis answers. ok
  // when taken (or cancelled), conflict when another node holds it.
  asio::awaitable<Status> confirm(const std::shared_ptr<Task>& task) {
    task->set_state("waiting for redis");
    auto cs = co_await asio::this_coro::cancellation_state;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
      timer.expires_after(s_->renew_every);
      auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec || cs.cancelled() != asio::cancellation_type::none) co_return Status{};
      auto r = co_await lock_.try_acquire();
      if (!r.ok()) continue;  // still unreachable
      if (!*r) co_return make_error(Errc::conflict, "taken by another node while Redis was unreachable");
      confirmed_.store(true);
      co_return Status{};
    }
  }

  void uncount() {
    if (counted_.exchange(false)) s_->held.fetch_sub(1);
  }

  std::shared_ptr<RedisChatLeases::Shared> s_;
  std::int64_t chat_id_;
  RedisLock lock_;
  std::function<void()> on_lost_;
  std::uint64_t task_id_ = 0;
  std::atomic<bool> renewing_{false};
  std::atomic<bool> releasing_{false};
  std::atomic<bool> counted_{false};
  std::atomic<bool> confirmed_{true};
};

}  // namespace

RedisChatLeases::RedisChatLeases(asio::any_io_executor ex, TaskRegistry& registry,
                                 std::shared_ptr<RedisConnection> conn, RedisChatLeasesOptions opts)
    : conn_(std::move(conn)), opts_(std::move(opts)), shared_(std::make_shared<Shared>()) {
  if (opts_.ttl.count() < 30) opts_.ttl = std::chrono::milliseconds(30);
  shared_->ex = std::move(ex);
  shared_->scope = TaskScope::create(registry, "chat.leases");
  shared_->renew_every = opts_.renew_every.count() > 0 ? opts_.renew_every : opts_.ttl / 3;
  shared_->max_hold = opts_.max_hold;
}

RedisChatLeases::~RedisChatLeases() {
  shared_->scope->cancel();
  (void)shared_->scope->wait_empty(kStopWait);
}

std::string RedisChatLeases::key(std::int64_t chat_id) const {
  return opts_.key_prefix + "{chat:" + std::to_string(chat_id) + "}:generation";
}

std::int64_t RedisChatLeases::held_count() const { return shared_->held.load(); }
std::uint64_t RedisChatLeases::losses() const { return shared_->losses.load(); }

asio::awaitable<Result<std::shared_ptr<ChatLease>>> RedisChatLeases::acquire(std::int64_t chat_id) {
  auto lease = std::make_shared<RedisChatLease>(
      shared_, chat_id, RedisLock(conn_, key(chat_id), opts_.owner, opts_.ttl));
  auto r = co_await lease->lock().try_acquire();
  if (!r.ok()) {
    // Redis unreachable: provisional (the store still allows one running generation per chat).
    spdlog::warn("chat {}: provisional generation lease, Redis unreachable: {}", chat_id, r.error().message);
    lease->provisional();
  } else if (!*r) {
    co_return make_error(Errc::conflict, "a generation is already running in this chat");
  }
  lease->granted();
  co_return std::shared_ptr<ChatLease>(std::move(lease));
}

asio::awaitable<Result<bool>> RedisChatLeases::held(std::int64_t chat_id) {
  std::vector<std::string> args;
  args.emplace_back("EXISTS");
  args.push_back(key(chat_id));
  auto r = co_await conn_->command(std::move(args));
  if (!r.ok()) co_return make_error(Errc::unavailable, "chat lease: " + r.error().message);
  if (r->type != RedisReply::Type::integer) {
    co_return make_error(Errc::upstream, "chat lease: unexpected EXISTS reply");
  }
  co_return r->integer != 0;
}

}  // namespace troupe::sync::redis
