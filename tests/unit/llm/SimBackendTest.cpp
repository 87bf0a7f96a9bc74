#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <thread>

#include "TestSupport.h"
#include "llm/BackendFactory.h"
#include "llm/OpenAiBackend.h"
#include "llm/SimBackend.h"

namespace troupe::llm::testing {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

LlmConfig fast_config(int tokens = 24) {
  LlmConfig c;
  c.sim_first_token_ms = 0;
  c.sim_token_delay_ms = 0;
  c.sim_reply_tokens = tokens;
  return c;
}

std::vector<std::string> generate(const LlmConfig& cfg, const Request& req, Status* st = nullptr) {
  asio::io_context io;
  SimBackend sim(cfg);
  CollectSink sink;
  auto s = run_stream(io, sim, req, sink);
  if (st)
    *st = s;
  else
    EXPECT_TRUE(s.ok()) << s.error().message;
  return sink.tokens;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& t : v) out += t;
  return out;
}

TEST(SimBackend, DeterministicExactTokenCount) {
  auto cfg = fast_config(64);
  auto a = generate(cfg, sample_request());
  auto b = generate(cfg, sample_request());
  ASSERT_EQ(a.size(), 64u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a[0].front(), ' ');  // a fresh reply starts without a space
  for (std::size_t i = 1; i < a.size(); ++i) {
    ASSERT_EQ(a[i].front(), ' ') << i;
    ASSERT_EQ(a[i].find(' ', 1), std::string::npos) << "one word per token: " << a[i];
  }
  auto other = generate(cfg, sample_request("What do you think of the storm tonight"));
  EXPECT_NE(join(a), join(other));
}

TEST(SimBackend, StaysInCharacter) {
  auto text =
      join(generate(fast_config(200), sample_request("Tell me about the lighthouse keeper")));
  EXPECT_NE(text.find("Mira"), std::string::npos) << text;
  // Echoes the user's words and references the scenario.
  const bool echoes = text.find("lighthouse") != std::string::npos ||
                      text.find("keeper") != std::string::npos ||
                      text.find("Tell") != std::string::npos;
  EXPECT_TRUE(echoes) << text;
  const bool scene =
      text.find("stormy") != std::string::npos || text.find("harbour") != std::string::npos;
  EXPECT_TRUE(scene) << text;
}

TEST(SimBackend, ContinuesGivenText) {
  auto req = sample_request();
  auto fresh = generate(fast_config(10), req);
  req.continue_from = "*Mira looks up from the lamp.*";
  auto cont = generate(fast_config(10), req);
  ASSERT_EQ(cont.size(), 10u);
  EXPECT_EQ(cont[0].front(), ' ');  // continues after the existing text
  EXPECT_NE(join(fresh), join(cont));
  EXPECT_EQ(cont, generate(fast_config(10), req));
}

TEST(SimBackend, FailMarkerFailsAfterAFewTokens) {
  Status st;
  auto tokens = generate(fast_config(20), sample_request("please [sim:fail] now"), &st);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::upstream);
  EXPECT_EQ(tokens.size(), static_cast<std::size_t>(SimBackend::kFailAfter));
  // The marker itself is never echoed.
  EXPECT_EQ(join(tokens).find("sim:"), std::string::npos);
}

TEST(SimBackend, PacesTokens) {
  LlmConfig cfg = fast_config(5);
  cfg.sim_first_token_ms = 50;
  cfg.sim_token_delay_ms = 20;
  const auto t0 = Clock::now();
  auto tokens = generate(cfg, sample_request());
  EXPECT_EQ(tokens.size(), 5u);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(50 + 4 * 20));
}

TEST(SimBackend, SlowMarkerPaces200MsPerToken) {
  const auto t0 = Clock::now();
  auto tokens = generate(fast_config(3), sample_request("take it easy [sim:slow]"));
  EXPECT_EQ(tokens.size(), 3u);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(2 * SimBackend::kSlowTokenMs));
}

TEST(SimBackend, CancellationStopsPromptly) {
  LlmConfig cfg = fast_config(1000);
  cfg.sim_token_delay_ms = 10'000;  // would take hours without cancellation
  asio::io_context io;
  SimBackend sim(cfg);
  CollectSink sink;
  asio::cancellation_signal signal;
  sink.after_token = [&] {
    asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });
  };
  const auto t0 = Clock::now();
  auto st = run_stream(io, sim, sample_request(), sink, {.signal = &signal});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::cancelled);
  EXPECT_EQ(sink.tokens.size(), 1u);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
}

TEST(SimBackend, CancellationWithoutDelaysAtYieldPoints) {
  asio::io_context io;
  SimBackend sim(fast_config(100'000));  // far longer than one time slice
  CollectSink sink;
  asio::cancellation_signal signal;
  sink.after_token = [&] {
    if (sink.tokens.size() != 1) return;
    asio::post(io, [&] { signal.emit(asio::cancellation_type::terminal); });
  };
  auto st = run_stream(io, sim, sample_request(), sink, {.signal = &signal});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::cancelled);
  EXPECT_LT(sink.tokens.size(), 100'000u);  // stopped at a yield, long before the end
}

TEST(SimBackend, ZeroDelayYieldsToOtherWork) {
  asio::io_context io;
  SimBackend sim(fast_config(100'000));  // far longer than one time slice
  CollectSink sink;
  int ticks = 0;
  std::size_t tokens_at_tick = 0;
  sink.after_token = [&] {
    if (sink.tokens.size() != 1) return;
    asio::post(io, [&] {
      ++ticks;
      tokens_at_tick = sink.tokens.size();
    });
  };
  auto st = run_stream(io, sim, sample_request(), sink);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(ticks, 1);
  EXPECT_LT(tokens_at_tick, 100'000u);  // other work ran while the reply was still streaming
}

TEST(SimBackend, ZeroDelayIsCheap) {
  asio::io_context io;
  SimBackend sim(fast_config(64));
  CollectSink sink;
  const auto req = sample_request();
  const auto t0 = Clock::now();
  for (int i = 0; i < 200; ++i) {
    sink.tokens.clear();
    ASSERT_TRUE(run_stream(io, sim, req, sink).ok());
  }
  // 200 turns of 64 tokens; generous bound for sanitizer builds.
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
}

TEST(SimBackend, ConcurrentStreamsOnSeveralThreads) {
  asio::io_context io(2);
  SimBackend sim(fast_config(40));
  const auto req = sample_request();
  constexpr int kStreams = 50;
  std::vector<CollectSink> sinks(kStreams);
  std::atomic<int> ok{0};
  for (auto& sink : sinks) {
    asio::co_spawn(asio::make_strand(io), sim.stream(req, sink),
                   [&ok](std::exception_ptr e, Status st) {
                     if (!e && st.ok()) ok.fetch_add(1);
                   });
  }
  std::thread t([&io] { io.run(); });
  io.run();
  t.join();
  EXPECT_EQ(ok.load(), kStreams);
  for (const auto& sink : sinks) EXPECT_EQ(sink.tokens, sinks[0].tokens);
}

TEST(BackendFactory, PicksBackendFromConfig) {
  LlmConfig cfg;
  EXPECT_EQ(make_backend(cfg)->name(), "sim");
  cfg.base_url = "http://127.0.0.1:1/v1";
  EXPECT_EQ(make_backend(cfg)->name(), "openai");
  cfg.base_url.clear();
  cfg.backend = "openai";
  EXPECT_EQ(make_backend(cfg)->name(), "openai");
}

}  // namespace
}  // namespace troupe::llm::testing
