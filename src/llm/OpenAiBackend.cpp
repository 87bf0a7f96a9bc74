#include "llm/OpenAiBackend.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>

#include "llm/OpenAiAttempt.h"
#include "llm/OpenAiRequestBody.h"

namespace troupe::llm {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2'000};

}  // namespace

OpenAiBackend::OpenAiBackend(LlmConfig config) : cfg_(std::move(config)) {
  if (cfg_.base_url.empty()) {
    config_status_ =
        make_error(Errc::unavailable, "llm.backend is \"openai\" but llm.base_url is empty");
    return;
  }
  auto url = UpstreamUrl::parse(cfg_.base_url);
  if (!url.ok()) {
    config_status_ = make_error(Errc::unavailable, url.error().message);
    return;
  }
  url_ = std::move(url).value();
  if (url_->tls) {
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    boost::system::error_code ec;
    tls_->set_default_verify_paths(ec);
    if (ec) spdlog::warn("llm: cannot load the system CA certificates: {}", ec.message());
    tls_->set_verify_mode(asio::ssl::verify_peer, ec);
  }
}

OpenAiBackend::~OpenAiBackend() = default;

asio::awaitable<Status> OpenAiBackend::stream(const Request& request, TokenSink& sink) {
  // I/O operations report cancellation as values; restore the caller's setting afterwards.
  const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
  co_await asio::this_coro::throw_if_cancelled(false);
  Status st = co_await run(request, sink);
  co_await asio::this_coro::throw_if_cancelled(throw_before);
  co_return st;
}

asio::awaitable<Status> OpenAiBackend::run(const Request& request, TokenSink& sink) {
  if (!config_status_.ok()) co_return config_status_;
  try {
    auto cs = co_await asio::this_coro::cancellation_state;
    const std::string body = openai_request_body(request, cfg_.model);
    OpenAiAttempt attempt(cfg_, *url_, tls_.get());
    auto backoff = kFirstBackoff;
    for (int tries = 0;; ++tries) {
      if (cs.cancelled() != asio::cancellation_type::none) {
        co_return make_error(Errc::cancelled, "generation cancelled");
      }
      attempts_.fetch_add(1, std::memory_order_relaxed);
      sink.on_pause();  // the attempt waits (connect, request, response)
      auto outcome = co_await attempt.run(body, sink);
      if (outcome.status.ok() || !outcome.retryable || tries >= cfg_.retries) {
        co_return outcome.status;
      }
      spdlog::warn("llm: attempt {} failed ({}); retrying in {} ms", tries + 1,
                   outcome.status.error().message, backoff.count());
      sink.on_pause();
      asio::steady_timer timer(co_await asio::this_coro::executor, backoff);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
  } catch (const std::exception& e) {
    co_return make_error(Errc::internal, std::string("llm stream failed: ") + e.what());
  }
}

}  // namespace troupe::llm
