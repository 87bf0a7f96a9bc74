#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include "FakeUpstream.h"
#include "TestSupport.h"
#include "llm/OpenAiBackend.h"

namespace troupe::llm::testing {
namespace {

namespace asio = boost::asio;
using Kind = FakeUpstream::Kind;
using Clock = std::chrono::steady_clock;

class OpenAiBackendTest : public ::testing::Test {
 protected:
  OpenAiBackendTest() : up(io) {
    cfg.backend = "openai";
    cfg.base_url = up.base_url();
    cfg.model = "test-model";
    cfg.api_key = "sk-test";
    cfg.connect_timeout_ms = 2'000;
    cfg.first_token_timeout_ms = 5'000;
    cfg.idle_timeout_ms = 5'000;
    cfg.retries = 2;
  }

  Status run(OpenAiBackend& backend, RunOptions opt = {}) {
    if (!opt.on_done) opt.on_done = [this] { up.stop(); };
    return run_stream(io, backend, request, sink, std::move(opt));
  }
  Status run_with(std::vector<FakeUpstream::Reply> script) {
    up.script(std::move(script));
    OpenAiBackend backend(cfg);
    auto st = run(backend);
    attempts = backend.attempts();
    return st;
  }

  asio::io_context io;
  FakeUpstream up;
  LlmConfig cfg;
  Request request = sample_request();
  CollectSink sink;
  std::uint64_t attempts = 0;
};

TEST_F(OpenAiBackendTest, StreamsChunksUntilDone) {
  auto st = run_with({{.kind = Kind::stream, .tokens = 5}});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(sink.tokens.size(), 5u);
  EXPECT_EQ(sink.text(), "tok0 tok1 tok2 tok3 tok4 ");
  EXPECT_EQ(attempts, 1u);
}

TEST_F(OpenAiBackendTest, SendsTheExpectedRequest) {
  request.stop = {"\nSam:"};
  request.max_tokens = 42;
  ASSERT_TRUE(run_with({{.kind = Kind::stream, .tokens = 1}}).ok());
  ASSERT_EQ(up.requests().size(), 1u);
  const auto& seen = up.requests()[0];
  EXPECT_EQ(seen.target, "/v1/chat/completions");
  EXPECT_EQ(seen.authorization, "Bearer sk-test");
  EXPECT_EQ(seen.content_type, "application/json");
  auto body = boost::json::parse(seen.body).as_object();
  EXPECT_EQ(body.at("model").as_string(), "test-model");
  EXPECT_TRUE(body.at("stream").as_bool());
  EXPECT_EQ(body.at("max_tokens").as_int64(), 42);
  EXPECT_EQ(body.at("stop").as_array().at(0).as_string(), "\nSam:");
  const auto& messages = body.at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].at("role").as_string(), "system");
  EXPECT_EQ(messages[1].at("role").as_string(), "user");
  EXPECT_EQ(messages[1].at("content").as_string(), "Tell me about the old lighthouse");
}

TEST_F(OpenAiBackendTest, NoAuthorizationWithoutKey) {
  cfg.api_key.clear();
  ASSERT_TRUE(run_with({{.kind = Kind::stream, .tokens = 1}}).ok());
  EXPECT_EQ(up.requests().at(0).authorization, "");
}

TEST_F(OpenAiBackendTest, ErrorChunkIsUpstreamErrorWithMessage) {
  auto st = run_with({{.kind = Kind::error_chunk, .tokens = 2}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::upstream);
  EXPECT_NE(st.error().message.find("model overloaded"), std::string::npos);
  EXPECT_EQ(sink.tokens.size(), 2u);
}

TEST_F(OpenAiBackendTest, GarbageIsUpstreamError) {
  auto st = run_with({{.kind = Kind::garbage, .tokens = 1}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::upstream);
  EXPECT_EQ(st.error().message, "garbage from upstream");
}

TEST_F(OpenAiBackendTest, StallBeforeFirstTokenTimesOut) {
  cfg.first_token_timeout_ms = 300;
  const auto t0 = Clock::now();
  auto st = run_with({{.kind = Kind::stall, .tokens = 0}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::timeout);
  EXPECT_NE(st.error().message.find("first token"), std::string::npos);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(3));
  EXPECT_EQ(attempts, 1u);  // a slow model is not retried
}

TEST_F(OpenAiBackendTest, NoResponseHeadersTimesOut) {
  cfg.first_token_timeout_ms = 300;
  auto st = run_with({{.kind = Kind::no_headers}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::timeout);
}

TEST_F(OpenAiBackendTest, StallMidStreamHitsIdleTimeout) {
  cfg.idle_timeout_ms = 300;
  auto st = run_with({{.kind = Kind::stall, .tokens = 2}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::timeout);
  EXPECT_NE(st.error().message.find("idle"), std::string::npos);
  EXPECT_EQ(sink.tokens.size(), 2u);
}

TEST_F(OpenAiBackendTest, DroppedConnectionMidStreamIsNotRetried) {
  auto st = run_with({{.kind = Kind::drop, .tokens = 2}, {.kind = Kind::stream}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::upstream);
  EXPECT_EQ(sink.tokens.size(), 2u);
  EXPECT_EQ(attempts, 1u);
}

TEST_F(OpenAiBackendTest, RetriesServerErrorsBeforeTheFirstToken) {
  auto st = run_with({{.kind = Kind::status, .status = 500},
                      {.kind = Kind::status, .status = 503},
                      {.kind = Kind::stream, .tokens = 3}});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(attempts, 3u);
  EXPECT_EQ(up.requests().size(), 3u);
  EXPECT_EQ(sink.text(), "tok0 tok1 tok2 ");
}

TEST_F(OpenAiBackendTest, GivesUpAfterConfiguredRetries) {
  cfg.retries = 1;
  auto st = run_with({{.kind = Kind::status, .status = 500}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::upstream);
  EXPECT_NE(st.error().message.find("500"), std::string::npos);
  EXPECT_NE(st.error().message.find("boom"), std::string::npos);
  EXPECT_EQ(attempts, 2u);
}

TEST_F(OpenAiBackendTest, ServerErrorAfterATokenIsNotRetried) {
  auto st = run_with({{.kind = Kind::error_chunk, .tokens = 1}, {.kind = Kind::stream}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::upstream);
  EXPECT_EQ(sink.tokens.size(), 1u);
  EXPECT_EQ(attempts, 1u);
  EXPECT_EQ(up.requests().size(), 1u);
}

TEST_F(OpenAiBackendTest, ClientErrorsAreNotRetriedAndBodyIsCapped) {
  auto st = run_with({{.kind = Kind::status, .status = 400, .body_bytes = 10'000}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::upstream);
  EXPECT_NE(st.error().message.find("400"), std::string::npos);
  EXPECT_LT(st.error().message.size(), 700u);
  EXPECT_EQ(attempts, 1u);
}

TEST_F(OpenAiBackendTest, ContentLengthBody) {
  std::string body =
      FakeUpstream::token_event(0) + FakeUpstream::token_event(1) + "data: [DONE]\n\n";
  auto st =
      run_with({{.kind = Kind::raw,
                 .raw = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body}});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(sink.text(), "tok0 tok1 ");
}

TEST_F(OpenAiBackendTest, CloseDelimitedBody) {
  std::string body = FakeUpstream::token_event(0) +
                     "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
  auto st = run_with({{.kind = Kind::raw,
                       .raw = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                              "Connection: close\r\n\r\n" +
                              body}});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(sink.text(), "tok0 ");
}

TEST_F(OpenAiBackendTest, CloseDelimitedBodyWithoutFinishIsAnError) {
  auto st = run_with(
      {{.kind = Kind::raw,
        .raw = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + FakeUpstream::token_event(0)}});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::upstream);
}

TEST_F(OpenAiBackendTest, ConnectFailureIsRetriedThenUnavailable) {
  asio::ip::tcp::acceptor closed(io, {asio::ip::make_address("127.0.0.1"), 0});
  cfg.base_url = "http://127.0.0.1:" + std::to_string(closed.local_endpoint().port()) + "/v1";
  closed.close();
  auto st = run_with({});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::unavailable);
  EXPECT_EQ(attempts, 3u);
}

TEST_F(OpenAiBackendTest, ResolvesHostNames) {
  cfg.base_url = "http://localhost:" + std::to_string(up.port()) + "/v1/";
  auto st = run_with({{.kind = Kind::stream, .tokens = 2}});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(up.requests().at(0).target, "/v1/chat/completions");
}

TEST_F(OpenAiBackendTest, HttpsAgainstPlainServerFails) {
  cfg.base_url = "https://127.0.0.1:" + std::to_string(up.port()) + "/v1";
  cfg.retries = 0;
  auto st = run_with({{.kind = Kind::stream}});
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().code == Errc::unavailable || st.error().code == Errc::upstream)
      << st.error().message;
}

TEST_F(OpenAiBackendTest, InvalidBaseUrl) {
  cfg.base_url = "ftp://example.com";
  OpenAiBackend backend(cfg);
  EXPECT_FALSE(backend.config_status().ok());
  auto st = run(backend);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::unavailable);
}

TEST_F(OpenAiBackendTest, CancellationClosesUpstreamPromptly) {
  up.script({{.kind = Kind::stall, .tokens = 3}});
  OpenAiBackend backend(cfg);
  asio::cancellation_signal signal;
  Clock::time_point cancelled_at{};
  sink.after_token = [&] {
    if (sink.tokens.size() != 3) return;
    asio::post(io, [&] {
      cancelled_at = Clock::now();
      signal.emit(asio::cancellation_type::terminal);
    });
  };
  up.on_client_close = [&] { up.stop(); };
  std::optional<Clock::time_point> finished_at;
  auto st = run_stream(io, backend, request, sink,
                       {.on_done = [&] { finished_at = Clock::now(); },
                        .signal = &signal,
                        .limit = std::chrono::seconds(5)});
  up.stop();
  io.restart();
  io.run();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::cancelled);
  EXPECT_EQ(sink.tokens.size(), 3u);
  ASSERT_TRUE(up.client_closed_at().has_value()) << "upstream never saw the connection close";
  EXPECT_LT(*up.client_closed_at() - cancelled_at, std::chrono::seconds(1));
  ASSERT_TRUE(finished_at.has_value());
  EXPECT_LT(*finished_at - cancelled_at, std::chrono::seconds(1));
}

TEST_F(OpenAiBackendTest, CancellationDuringRetryBackoff) {
  cfg.retries = 5;
  up.script({{.kind = Kind::status, .status = 500}});
  OpenAiBackend backend(cfg);
  asio::cancellation_signal signal;
  asio::steady_timer later(io, std::chrono::milliseconds(150));
  later.async_wait(
      [&](boost::system::error_code) { signal.emit(asio::cancellation_type::terminal); });
  const auto t0 = Clock::now();
  auto st = run(backend, {.signal = &signal});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::cancelled);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
  EXPECT_LT(backend.attempts(), 6u);
}

}  // namespace
}  // namespace troupe::llm::testing
