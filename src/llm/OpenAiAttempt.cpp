#include "llm/OpenAiAttempt.h"

#include <algorithm>
#include <array>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <vector>

#include "llm/OpenAiChunkDecoder.h"
#include "llm/SseParser.h"

namespace troupe::llm {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using Outcome = OpenAiAttempt::Outcome;

namespace {

constexpr std::size_t kErrorExcerpt = 512;
constexpr std::chrono::milliseconds kErrorBodyTimeout{2'000};

std::chrono::milliseconds ms(std::uint32_t v) { return std::chrono::milliseconds(v); }

Outcome fail(Errc code, std::string msg, bool retryable) {
  return Outcome{make_error(code, std::move(msg)), retryable};
}

Outcome cancelled() { return fail(Errc::cancelled, "generation cancelled", false); }

asio::awaitable<bool> is_cancelled() {
  auto cs = co_await asio::this_coro::cancellation_state;
  co_return cs.cancelled() != asio::cancellation_type::none;
}

bool is_timeout(const boost::system::error_code& ec) { return ec == beast::error::timeout; }

// Printable, single-line excerpt of an upstream body.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) out.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
  return out;
}

}  // namespace

asio::awaitable<Outcome> OpenAiAttempt::run(const std::string& body, TokenSink& sink) {
  const auto ex = co_await asio::this_coro::executor;
  UpstreamConnection conn(ex, url_, tls_);
  const std::string where = url_.host_header();

  auto ec = co_await conn.connect(ms(cfg_.connect_timeout_ms));
  if (co_await is_cancelled()) co_return cancelled();
  if (is_timeout(ec)) {
    co_return fail(Errc::timeout,
                   "connecting to upstream " + where + " timed out after " +
                       std::to_string(cfg_.connect_timeout_ms) + " ms",
                   true);
  }
  if (ec)
    co_return fail(Errc::unavailable, "cannot connect to upstream " + where + ": " + ec.message(),
                   true);

  UpstreamConnection::HttpRequest req{http::verb::post, url_.target("/chat/completions"), 11};
  req.set(http::field::host, url_.host_header());
  req.set(http::field::user_agent, "troupe");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "text/event-stream");
  if (!cfg_.api_key.empty()) req.set(http::field::authorization, "Bearer " + cfg_.api_key);
  req.keep_alive(false);
  req.body() = body;
  req.prepare_payload();
  ec = co_await conn.write(req, ms(cfg_.idle_timeout_ms));
  if (co_await is_cancelled()) co_return cancelled();
  if (ec)
    co_return fail(Errc::upstream, "sending the request to " + where + " failed: " + ec.message(),
                   true);

  Parser parser;
  parser.body_limit(boost::none);  // a stream; events are capped by the SSE parser
  const auto first_deadline = Clock::now() + ms(cfg_.first_token_timeout_ms);
  ec = co_await conn.read_header(parser, first_deadline);
  if (co_await is_cancelled()) co_return cancelled();
  if (is_timeout(ec)) {
    co_return fail(
        Errc::timeout,
        "timed out: no response from upstream within " + std::to_string(cfg_.first_token_timeout_ms) + " ms",
        false);
  }
  if (ec)
    co_return fail(Errc::upstream, "reading the upstream response failed: " + ec.message(), true);

  const unsigned status = parser.get().result_int();
  if (status < 200 || status > 299) co_return co_await read_error_body(conn, parser, status);
  co_return co_await stream_body(conn, parser, sink, first_deadline);
}

asio::awaitable<Outcome> OpenAiAttempt::read_error_body(UpstreamConnection& conn, Parser& parser,
                                                        unsigned status) {
  std::array<char, kErrorExcerpt> buf{};
  std::size_t have = 0;
  const auto deadline =
      Clock::now() + std::min<Clock::duration>(ms(cfg_.idle_timeout_ms), kErrorBodyTimeout);
  while (!parser.is_done() && have < buf.size()) {
    std::size_t got = 0;
    auto ec = co_await conn.read_body(parser, buf.data() + have, buf.size() - have, deadline, got);
    have += got;
    if (co_await is_cancelled()) co_return cancelled();
    if (ec) break;  // the status line is what matters; the excerpt is best effort
  }
  std::string msg = "upstream answered " + std::to_string(status);
  if (have > 0) msg += ": " + printable(std::string_view(buf.data(), have));
  if (have == buf.size() && !parser.is_done()) msg += "...";
  co_return fail(Errc::upstream, std::move(msg), status >= 500);
}

asio::awaitable<Outcome> OpenAiAttempt::stream_body(UpstreamConnection& conn, Parser& parser,
                                                    TokenSink& sink,
                                                    Clock::time_point first_deadline) {
  SseParser sse;
  OpenAiChunkDecoder decoder;
  std::vector<SseEvent> events;
  std::array<char, 8192> buf{};
  bool delivered = false;
  auto deadline = first_deadline;
  while (!parser.is_done()) {
    std::size_t got = 0;
    auto ec = co_await conn.read_body(parser, buf.data(), buf.size(), deadline, got);
    if (co_await is_cancelled()) {
      conn.close();
      co_return cancelled();
    }
    if (got > 0) {
      events.clear();
      if (auto st = sse.feed(std::string_view(buf.data(), got), events); !st.ok()) {
        co_return fail(Errc::upstream, "bad event stream from upstream: " + st.error().message,
                       false);
      }
      for (const auto& ev : events) {
        auto delta = decoder.decode(ev);
        if (!delta.ok()) co_return Outcome{delta.error(), false};
        if (delta->done) co_return Outcome{};
        if (!delta->text.empty()) {
          sink.on_token(delta->text);
          delivered = true;
          if (!sink.wanted()) {  // (the upstream request ends with the connection)
            conn.close();
            co_return fail(Errc::cancelled, "reply no longer wanted", false);
          }
        }
      }
      sink.on_pause();  // this read's pieces go on before the next read waits
      if (delivered) deadline = Clock::now() + ms(cfg_.idle_timeout_ms);
    }
    if (is_timeout(ec)) {
      if (!delivered) {
        co_return fail(Errc::timeout,
                       "timed out: no first token from upstream within " +
                           std::to_string(cfg_.first_token_timeout_ms) + " ms",
                       false);
      }
      co_return fail(Errc::timeout,
                     "timed out: upstream idle for " + std::to_string(cfg_.idle_timeout_ms) + " ms", false);
    }
    if (ec == http::error::partial_message || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
      co_return fail(Errc::upstream, "upstream closed the connection mid-stream", !delivered);
    }
    if (ec)
      co_return fail(Errc::upstream, "reading the upstream stream failed: " + ec.message(),
                     !delivered);
  }
  if (decoder.finished()) co_return Outcome{};
  co_return fail(Errc::upstream, "upstream ended the stream without finishing", false);
}

}  // namespace troupe::llm
