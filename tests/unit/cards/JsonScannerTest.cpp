#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cards/JsonScanner.h"

namespace troupe::cards {
namespace {

bool boost_accepts(std::string_view text) {
  boost::system::error_code ec;
  boost::json::parse(text, ec);
  return !ec;
}

TEST(JsonScanner, MembersKeepExactSourceBytes) {
  const std::string doc =
      R"( {"a" : 1.50 , "b":[1e3, -0,{"x":"\u00e9"}], "c\n":"t\"x", "a":null} )";
  JsonScanner s(doc);
  auto root = s.parse_document();
  ASSERT_TRUE(root.ok()) << root.error().message;
  EXPECT_EQ(root->kind, JsonKind::object);
  EXPECT_EQ(root->offset, 1u);
  auto m = s.members(*root);
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 4u);
  EXPECT_EQ((*m)[0].key, "a");
  EXPECT_EQ((*m)[0].value.text, "1.50");
  EXPECT_EQ((*m)[0].value.kind, JsonKind::number);
  EXPECT_EQ((*m)[1].value.text, R"([1e3, -0,{"x":"\u00e9"}])");
  EXPECT_EQ((*m)[2].key, "c\n");
  EXPECT_EQ((*m)[2].raw_key, R"("c\n")");
  auto str = s.decode_string((*m)[2].value);
  ASSERT_TRUE(str.ok());
  EXPECT_EQ(*str, "t\"x");
  EXPECT_EQ((*m)[3].value.kind, JsonKind::null);  // duplicates are reported, not merged

  auto items = s.elements((*m)[1].value);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[1].text, "-0");
  EXPECT_EQ((*items)[2].kind, JsonKind::object);
}

TEST(JsonScanner, DecodesEscapesAndSurrogatePairs) {
  const std::string doc = R"("a\/b\\\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00")";
  JsonScanner s(doc);
  auto v = s.parse_document();
  ASSERT_TRUE(v.ok());
  auto str = s.decode_string(*v);
  ASSERT_TRUE(str.ok());
  EXPECT_EQ(*str, "a/b\\\b\f\n\r\tA\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST(JsonScanner, ErrorsCarryBytePosition) {
  struct Case {
    std::string doc;
    std::string expect;
  };
  const Case cases[] = {
      {R"({"a" 1})", "at byte 5: expected ':'"},
      {R"({"a":1,})", "at byte 7: expected a string key"},
      {R"([1,2)", "at byte 4: unexpected end of input"},
      {R"({"a":01})", "at byte 6: leading zero"},
      {R"("abc)", "at byte 4: unterminated string"},
      {"\"a\x01\"", "at byte 2: control character"},
      {R"("\x")", "at byte 1: invalid escape"},
      {R"("\ud800")", "at byte 1: unpaired high surrogate"},
      {R"("\udc00")", "at byte 1: unpaired low surrogate"},
      {R"("\ud800\u0041")", "at byte 7: invalid low surrogate"},
      {"\"\xC0\x80\"", "at byte 1: invalid UTF-8"},
      {"\"\xED\xA0\x80\"", "at byte 1: invalid UTF-8"},
      {"1 2", "at byte 2: unexpected data after"},
      {"tru", "at byte 0: invalid literal"},
      {"", "at byte 0: unexpected end of input"},
      {"1.", "at byte 2: expected a digit after '.'"},
      {"1e400000000", "at byte 2: number exponent out of range"},
  };
  for (const Case& c : cases) {
    auto v = JsonScanner(c.doc).parse_document();
    ASSERT_FALSE(v.ok()) << c.doc;
    EXPECT_EQ(v.error().code, Errc::bad_request);
    EXPECT_NE(v.error().message.find(c.expect), std::string::npos)
        << c.doc << " -> " << v.error().message;
  }
}

TEST(JsonScanner, DepthLimitMatchesBoostDefault) {
  const auto nested = [](std::size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_TRUE(JsonScanner(nested(32)).parse_document().ok());
  EXPECT_TRUE(boost_accepts(nested(32)));
  auto deep = JsonScanner(nested(33)).parse_document();
  ASSERT_FALSE(deep.ok());
  EXPECT_NE(deep.error().message.find("nesting deeper than 32"), std::string::npos);
  EXPECT_FALSE(boost_accepts(nested(33)));
  // A hostile depth is refused without recursing through it, whatever limit the caller asks for.
  EXPECT_FALSE(JsonScanner(std::string(1'000'000, '[')).parse_document().ok());
  auto capped = JsonScanner(std::string(1'000'000, '['), 1'000'000).parse_document();
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.error().message.find("nesting deeper than 512"), std::string::npos);
}

TEST(JsonScanner, AgreesWithBoostJson) {
  const std::string docs[] = {
      "{}",
      "[]",
      "0",
      "-0",
      "1.5e+3",
      "1E-2",
      "-",
      "+1",
      ".5",
      "1e",
      "01",
      "1.0e0001",
      "1e99999999",
      "\"\\u12\"",
      "\"\\uD834\\uDD1E\"",
      "\"\xF4\x90\x80\x80\"",
      "\"\xF0\x9F\x98\x80\"",
      "\"\x7F\"",
      "[1,]",
      "{\"a\":1,}",
      "[1 2]",
      "{\"a\"}",
      "nul",
      "null ",
      " \t\r\n[true,false,null]\n",
      "\xEF\xBB\xBF{}",
      "[\"\\/\"]",
      "{\"\":\"\"}",
      "\"\t\"",
      std::string("\"a\0b\"", 5),
      std::string("[1]\0", 4),
      "123456789012345678901234567890",
  };
  for (const std::string& d : docs) {
    EXPECT_EQ(JsonScanner(d).parse_document().ok(), boost_accepts(d)) << d;
  }
  // Deliberately stricter: exponents beyond 8 significant digits, which Boost.JSON accepts only
  // up to its own overflow point.
  EXPECT_FALSE(JsonScanner("1e999999999").parse_document().ok());
  EXPECT_TRUE(boost_accepts("1e999999999"));
}

TEST(JsonScanner, RejectsWrongKinds) {
  const std::string doc = "[1]";
  JsonScanner s(doc);
  auto v = s.parse_document();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(s.members(*v).ok());
  EXPECT_FALSE(s.decode_string(*v).ok());
}

}  // namespace
}  // namespace troupe::cards
