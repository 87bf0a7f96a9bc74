#include <gtest/gtest.h>

#include <random>

#include "llm/SseParser.h"

namespace troupe::llm {
namespace {

struct Parsed {
  std::vector<SseEvent> events;
  bool ok = true;
  Errc code = Errc::internal;

  friend bool operator==(const Parsed& a, const Parsed& b) {
    return a.events == b.events && a.ok == b.ok && (a.ok || a.code == b.code);
  }
};

Parsed parse_pieces(const std::vector<std::string_view>& pieces, SseLimits limits = {}) {
  SseParser p(limits);
  Parsed out;
  for (auto piece : pieces) {
    auto st = p.feed(piece, out.events);
    if (!st.ok()) {
      out.ok = false;
      out.code = st.error().code;
      break;
    }
  }
  return out;
}

Parsed parse_whole(std::string_view s, SseLimits limits = {}) { return parse_pieces({s}, limits); }

const std::string kSample =
    "\xEF\xBB\xBF: a comment first\r\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"h\xC3\xA9llo\"}}]}\r\n\r\n"
    "event: update\nid: 7\ndata: line one\ndata: line two\n\n"
    "data:no-space\rdata:  two spaces\r\r"
    ":keepalive\n\n"
    "retry: 1000\nunknown: x\ndata\n\n"
    "id: 8\ndata: [DONE]\n\n"
    "data: unterminated";

TEST(SseParser, ParsesSampleStream) {
  auto r = parse_whole(kSample);
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.events.size(), 5u);
  EXPECT_EQ(r.events[0].event, "message");
  EXPECT_EQ(r.events[0].data, "{\"choices\":[{\"delta\":{\"content\":\"h\xC3\xA9llo\"}}]}");
  EXPECT_EQ(r.events[0].id, "");
  EXPECT_EQ(r.events[1].event, "update");
  EXPECT_EQ(r.events[1].data, "line one\nline two");
  EXPECT_EQ(r.events[1].id, "7");
  EXPECT_EQ(r.events[2].data, "no-space\n two spaces");
  EXPECT_EQ(r.events[2].event, "message");
  EXPECT_EQ(r.events[2].id, "7");   // the last event id persists
  EXPECT_EQ(r.events[3].data, "");  // a bare `data` line
  EXPECT_EQ(r.events[4].data, "[DONE]");
  EXPECT_EQ(r.events[4].id, "8");
}

TEST(SseParser, EverySplitGivesIdenticalEvents) {
  const auto whole = parse_whole(kSample);
  const std::string_view s = kSample;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    ASSERT_EQ(parse_pieces({s.substr(0, i), s.substr(i)}), whole) << "split at " << i;
    for (std::size_t j = i; j <= s.size(); j += 7) {
      ASSERT_EQ(parse_pieces({s.substr(0, i), s.substr(i, j - i), s.substr(j)}), whole)
          << "splits at " << i << "," << j;
    }
  }
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < s.size(); ++i) bytes.push_back(s.substr(i, 1));
  EXPECT_EQ(parse_pieces(bytes), whole);
}

TEST(SseParser, CrLfSplitAcrossChunks) {
  auto r = parse_pieces({"data: a\r", "\n", "\r", "\ndata: b\r", "\r"});
  ASSERT_TRUE(r.ok);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].data, "a");
  EXPECT_EQ(r.events[1].data, "b");
}

TEST(SseParser, CommentsOnlyProduceNothing) {
  auto r = parse_whole(": ping\n\n: ping\r\n\r\n:\n\n");
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.events.empty());
}

TEST(SseParser, EventNameResetsAfterDispatch) {
  auto r = parse_whole("event: error\ndata: x\n\ndata: y\n\nevent: lost\n\ndata: z\n\n");
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0].event, "error");
  EXPECT_EQ(r.events[1].event, "message");
  EXPECT_EQ(r.events[2].event, "message");  // an event without data is dropped with its name
}

TEST(SseParser, OversizedLineIsAnErrorAndSticky) {
  SseLimits limits{.max_line = 16, .max_event = 1024};
  std::string line = "data: " + std::string(40, 'x');
  SseParser p(limits);
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.feed("data: ok\n\n", out).ok());
  ASSERT_EQ(out.size(), 1u);
  // Arrives in small pieces: must fail before buffering more than the limit.
  Status st;
  for (std::size_t i = 0; i < line.size() && st.ok(); i += 4) st = p.feed(line.substr(i, 4), out);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::too_large);
  EXPECT_LE(p.buffered(), 16u);
  EXPECT_TRUE(p.failed());
  EXPECT_FALSE(p.feed("data: more\n\n", out).ok());
  EXPECT_EQ(out.size(), 1u);
}

TEST(SseParser, LineAtTheLimitIsFine) {
  SseLimits limits{.max_line = 16, .max_event = 1024};
  auto r = parse_whole("data: 0123456789\n\n", limits);  // exactly 16 bytes
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.events.at(0).data, "0123456789");
}

TEST(SseParser, OversizedEventIsAnError) {
  SseLimits limits{.max_line = 64, .max_event = 100};
  std::string s;
  for (int i = 0; i < 20; ++i) s += "data: 0123456789\n";
  auto r = parse_whole(s, limits);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, Errc::too_large);
}

TEST(SseParser, RandomGarbageNeverCrashesAndSplitsAgree) {
  std::mt19937 rng(12345);
  const std::string alphabet = "data:event:id: \r\n\n\n:xyz{}[]\"\xC3\xA9\xEF\xBB\xBF";
  SseLimits limits{.max_line = 48, .max_event = 160};
  for (int round = 0; round < 3000; ++round) {
    std::string s(rng() % 300, '\0');
    for (auto& c : s) {
      c = rng() % 4 == 0 ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
    }
    const auto whole = parse_whole(s, limits);
    const std::size_t a = s.empty() ? 0 : rng() % s.size();
    const std::size_t b = a + (s.size() == a ? 0 : rng() % (s.size() - a));
    const std::string_view v = s;
    ASSERT_EQ(parse_pieces({v.substr(0, a), v.substr(a, b - a), v.substr(b)}, limits), whole)
        << "round " << round;
  }
}

}  // namespace
}  // namespace troupe::llm
