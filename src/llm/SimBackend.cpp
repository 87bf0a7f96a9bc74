#include "llm/SimBackend.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>

#include "llm/SimReply.h"

namespace troupe::llm {

namespace asio = boost::asio;

SimBackend::SimBackend(const LlmConfig& config)
    : first_token_ms_(config.sim_first_token_ms),
      token_delay_ms_(config.sim_token_delay_ms),
      reply_tokens_(config.sim_reply_tokens) {}

asio::awaitable<Status> SimBackend::stream(const Request& request, TokenSink& sink) {
  const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
  co_await asio::this_coro::throw_if_cancelled(false);
  Status st = co_await run(request, sink);
  co_await asio::this_coro::throw_if_cancelled(throw_before);
  co_return st;
}

asio::awaitable<Status> SimBackend::run(const Request& request, TokenSink& sink) {
  try {
    auto cs = co_await asio::this_coro::cancellation_state;
    auto cancelled = [&cs] { return cs.cancelled() != asio::cancellation_type::none; };
    if (cancelled()) co_return make_error(Errc::cancelled, "generation cancelled");
    SimReply reply(request);
    const std::uint32_t delay = reply.slow_requested() ? kSlowTokenMs : token_delay_ms_;
    std::optional<asio::steady_timer> timer;
    auto slice_start = std::chrono::steady_clock::now();
    for (int i = 0; i < reply_tokens_; ++i) {
      const std::uint32_t wait_ms = i == 0 ? first_token_ms_ : delay;
      if (wait_ms > 0) {
        sink.on_pause();
        if (!timer) timer.emplace(co_await asio::this_coro::executor);
        timer->expires_after(std::chrono::milliseconds(wait_ms));
        co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
      } else if (i > 0 && i % kCheckEvery == 0 &&
                 std::chrono::steady_clock::now() - slice_start >= kSlice) {
        sink.on_pause();
        co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
        slice_start = std::chrono::steady_clock::now();
      }
      if (cancelled()) co_return make_error(Errc::cancelled, "generation cancelled");
      if (reply.fail_requested() && i == kFailAfter) {
        co_return make_error(Errc::upstream, "simulated upstream failure ([sim:fail])");
      }
      sink.on_token(reply.next());
      if (!sink.wanted()) co_return make_error(Errc::cancelled, "reply no longer wanted");
    }
    sink.on_pause();
    if (reply.fail_requested()) {
      co_return make_error(Errc::upstream, "simulated upstream failure ([sim:fail])");
    }
    co_return Status{};
  } catch (const std::exception& e) {
    co_return make_error(Errc::internal, std::string("simulated stream failed: ") + e.what());
  }
}

}  // namespace troupe::llm
