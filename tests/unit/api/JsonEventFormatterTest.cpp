#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <random>
#include <string>

#include "api/JsonEventFormatter.h"

namespace troupe::api {
namespace {

namespace json = boost::json;

// The hand-written token encoding must be exactly what the JSON library would produce.
std::string reference(store::Id g, store::Id m, std::string_view text) {
  return "\"generation_id\":" + std::to_string(g) + ",\"message_id\":" + std::to_string(m) +
         ",\"text\":" + json::serialize(json::string_view(text.data(), text.size()));
}

TEST(JsonEventFormatterTest, TokenMatchesTheLibraryEncodingOnHostileText) {
  JsonEventFormatter f;
  const std::string cases[] = {
      "",
      " wandering",
      "quote \" backslash \\ slash /",
      std::string("nul \0 byte", 10),
      "\n\r\t\b\f\x01\x1f\x7f",
      "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80",
      "</script><script>alert(1)</script>",
  };
  std::string out;
  for (const auto& c : cases) {
    f.token_into(out, 123456, 9007199254740993LL, c);
    EXPECT_EQ(out, reference(123456, 9007199254740993LL, c));
    EXPECT_EQ(f.token(1, 2, c), reference(1, 2, c));
    auto parsed = json::parse("{" + out + "}");
    EXPECT_EQ(parsed.at("text").as_string(), json::string_view(c.data(), c.size()));
  }
}

TEST(JsonEventFormatterTest, TokenMatchesOnRandomBytesAndReusesTheBuffer) {
  JsonEventFormatter f;
  std::mt19937 rng(7);
  std::string out;
  for (int i = 0; i < 2000; ++i) {
    std::string text(rng() % 40, '\0');
    for (auto& ch : text) ch = static_cast<char>(rng() % 128);  // ASCII incl. every control byte
    f.token_into(out, i, -i, text);
    ASSERT_EQ(out, reference(i, -i, text)) << i;
  }
  const auto cap = out.capacity();
  f.token_into(out, 1, 1, "short");
  EXPECT_EQ(out.capacity(), cap);  // cleared, not reallocated
}

}  // namespace
}  // namespace troupe::api
