#include "chat/PendingTurn.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "chat/TokenEvents.h"

namespace troupe::chat {

namespace asio = boost::asio;

namespace {

// A completion handler as a copyable callable that resumes it on its own executor.
template <class Handler>
std::function<void()> resumer(Handler handler) {
  auto h = std::make_shared<Handler>(std::move(handler));
  return [h] {
    auto ex = asio::get_associated_executor(*h);
    asio::post(ex, std::move(*h));
  };
}

}  // namespace

PendingTurn::PendingTurn(const Deps& d, store::Id chat_id, store::Id expected_parent,
                         asio::any_io_executor generation_ex,
                         std::function<void(const store::Turn&)> on_stored)
    : d_(d),
      chat_id_(chat_id),
      gen_ex_(std::move(generation_ex)),
      on_stored_(std::move(on_stored)),
      early_(std::make_shared<store::EarlyFinish>(expected_parent)) {}

void PendingTurn::hold_write(Write w) {
  {
    std::lock_guard lock(mu_);
    if (!write_released_) {
      write_ = std::move(w);
      return;
    }
  }
  w(shared_from_this());
}

void PendingTurn::release_write() {
  Write w;
  {
    std::lock_guard lock(mu_);
    if (write_released_) return;
    write_released_ = true;
    w = std::move(write_);
  }
  if (w) w(shared_from_this());
}

void PendingTurn::release_write_soon() {
  {
    std::lock_guard lock(mu_);
    if (write_released_ || write_release_posted_) return;
    write_release_posted_ = true;
  }
  asio::post(gen_ex_, [self = shared_from_this()] { self->release_write(); });
}

void PendingTurn::complete(Result<store::Turn> r) {
  if (r.ok() && !r->replayed && on_stored_) on_stored_(*r);
  std::function<void()> request;
  {
    std::lock_guard lock(mu_);
    result_.emplace(std::move(r));
    request = std::move(request_waiter_);
  }
  asio::post(gen_ex_, [self = shared_from_this()] { self->announce(); });
  if (request) request();
}

void PendingTurn::announce() {
  std::function<void()> generation;
  {
    std::lock_guard lock(mu_);
    const Result<store::Turn>& r = *result_;
    if (r.ok() && !r->replayed) {
      const store::Turn& t = *r;
      // The turn and the tokens held so far go out as one run of events.
      batch_.clear();
      batch_.add("message.created") += d_.fmt.message(t.user_message);
      batch_.add("message.created") += d_.fmt.message(t.reply);
      batch_.add("generation.started") += d_.fmt.generation(t.generation);
      // A turn written on another path than the prompt assumed (the chat's selection moved in
      // between): its tokens are dropped, and the generation streams again from the store.
      published_ = t.user_message.parent_id == early_->expected_parent();
      static const std::vector<std::size_t> kNone;
      auto st = publish_token_events(d_.bus, chat_id_, batch_, d_.fmt, t.generation.id, t.reply.id,
                                     held_, 0, published_ ? held_ends_ : kNone);
      if (!st.ok()) spdlog::warn("chat {}: turn events not published: {}", chat_id_, st.error().message);
    }
    held_.clear();
    held_.shrink_to_fit();
    held_ends_.clear();
    announced_ = true;
    unwanted_.store(!published_, std::memory_order_release);
    generation = std::move(generation_waiter_);
  }
  if (generation) generation();
}

void PendingTurn::tokens(std::string_view text, std::size_t begin, const std::vector<std::size_t>& ends) {
  if (ends.empty()) return;
  std::lock_guard lock(mu_);
  if (published_) {
    const store::Turn& t = **result_;
    batch_.clear();
    auto st = publish_token_events(d_.bus, chat_id_, batch_, d_.fmt, t.generation.id, t.reply.id,
                                   text, begin, ends);
    if (!st.ok()) spdlog::warn("chat {}: token events not published: {}", chat_id_, st.error().message);
  } else if (!announced_) {
    const std::size_t base = held_.size();
    held_.append(text.substr(begin, ends.back() - begin));
    for (std::size_t end : ends) held_ends_.push_back(base + (end - begin));
  }
}

bool PendingTurn::wanted() const { return !unwanted_.load(std::memory_order_acquire); }

store::Id PendingTurn::reply_id() const {
  std::lock_guard lock(mu_);
  return published_ ? (*result_)->reply.id : 0;
}

asio::awaitable<Result<store::Turn>> PendingTurn::result() { return wait(false); }

asio::awaitable<Result<store::Turn>> PendingTurn::settled() { return wait(true); }

asio::awaitable<Result<store::Turn>> PendingTurn::wait(bool announced) {
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [this, announced](auto handler) {
        std::unique_lock lock(mu_);
        if (!(announced ? announced_ : result_.has_value())) {
          (announced ? generation_waiter_ : request_waiter_) = resumer(std::move(handler));
          return;
        }
        lock.unlock();
        resumer(std::move(handler))();
      },
      asio::use_awaitable);
  std::lock_guard lock(mu_);
  co_return *result_;
}

}  // namespace troupe::chat
