// The Pub/Sub payload of a chat event: the publish time survives a round trip, the older form
// without a time still decodes, and malformed payloads are refused.
#include "sync/redis/Envelope.h"

#include <gtest/gtest.h>

namespace troupe::sync::redis {
namespace {

TEST(Envelope, RoundTripKeepsSeqTimeTypeAndJson) {
  const std::string json = R"({"type":"token","chat_id":7,"seq":42,"text":"a b"})";
  std::string p = format_envelope(42, 1764300000123456, "token", json);
  EXPECT_EQ(p, "42:1764300000123456 token " + json);
  Envelope e;
  ASSERT_TRUE(parse_envelope(p, e));
  EXPECT_EQ(e.seq, 42);
  EXPECT_EQ(e.published_us, 1764300000123456);
  EXPECT_EQ(e.type, "token");
  EXPECT_EQ(e.json, json);
}

TEST(Envelope, OlderPayloadWithoutTimeStillDecodes) {
  Envelope e;
  ASSERT_TRUE(parse_envelope("9 generation.started {\"x\":1}", e));
  EXPECT_EQ(e.seq, 9);
  EXPECT_EQ(e.published_us, 0);
  EXPECT_EQ(e.type, "generation.started");
  EXPECT_EQ(e.json, "{\"x\":1}");
}

TEST(Envelope, MalformedPayloadsAreRefused) {
  Envelope e;
  for (const char* bad : {"", "12", "12 token", "x token {}", "12: token {}", "12:x token {}",
                          "12:-5 token {}", ":5 token {}", "12  {}", "1.5 token {}"}) {
    EXPECT_FALSE(parse_envelope(bad, e)) << bad;
  }
}

}  // namespace
}  // namespace troupe::sync::redis
