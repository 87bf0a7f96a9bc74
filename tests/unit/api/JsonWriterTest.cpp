#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <random>
#include <string>

#include "api/JsonCodec.h"
#include "api/JsonWriter.h"

namespace troupe::api {
namespace {

namespace json = boost::json;

// Every byte value, quotes, backslashes, control characters, UTF-8 and invalid UTF-8.
std::string awkward_text() {
  std::string s = "Hé said \"hi\" \\ to {{user}}\n\t\r\b\f";
  for (int c = 0; c < 256; ++c) s += static_cast<char>(c);
  s += "\xF0\x9F\x8E\xAD \xC3";  // a mask emoji, then a cut-off sequence
  return s;
}

std::string written(const store::Message& m) {
  std::string out;
  append_json(out, m);
  return out;
}

std::string written(const store::Generation& g) {
  std::string out;
  append_json(out, g);
  return out;
}

TEST(JsonWriter, MessageMatchesTheCodecByteForByte) {
  store::Message m;
  m.id = 9007199254740993LL;
  m.chat_id = 12;
  m.parent_id = 0;  // null
  m.role = "assistant";
  m.content = awkward_text();
  m.status = "streaming";
  m.generation_id = 0;  // null
  m.swipe_index = 2;
  m.swipe_count = 3;
  m.created_at = 1700000000000;
  m.updated_at = -1;
  EXPECT_EQ(written(m), json::serialize(to_json(m)));
  m.parent_id = 77;
  m.generation_id = 78;
  m.content.clear();
  EXPECT_EQ(written(m), json::serialize(to_json(m)));
}

TEST(JsonWriter, GenerationMatchesTheCodecWithAndWithoutMemories) {
  store::Generation g;
  g.id = 5;
  g.chat_id = 6;
  g.message_id = 7;
  g.kind = "reply";
  g.status = "failed";
  g.error = "upstream said \"no\"\n";
  g.backend = "sim";
  g.started_at = 1;
  g.finished_at = 0;  // null
  EXPECT_EQ(written(g), json::serialize(to_json(g)));
  g.finished_at = 99;
  g.retrieval_mode = "vector";
  g.memory_ids = {3, 1, 2};
  EXPECT_EQ(written(g), json::serialize(to_json(g)));
  g.memory_ids.clear();
  EXPECT_EQ(written(g), json::serialize(to_json(g)));
}

TEST(JsonWriter, RandomStringsRoundTripAndMatchTheSerializer) {
  std::mt19937 rng(42);
  for (int i = 0; i < 500; ++i) {
    std::string s(rng() % 64, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 256);
    std::string out;
    append_json_string(out, s);
    EXPECT_EQ(out, json::serialize(json::string(s)));
  }
  // Valid text reads back as what was written.
  std::string out;
  append_json_string(out, "line\none \"two\" \\ \x01");
  EXPECT_EQ(json::parse(out).as_string(), "line\none \"two\" \\ \x01");
}

TEST(JsonWriter, AppendsAfterWhatIsThere) {
  std::string out = "prefix:";
  append_json_int(out, -42);
  EXPECT_EQ(out, "prefix:-42");
}

}  // namespace
}  // namespace troupe::api
