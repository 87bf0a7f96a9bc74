#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "CardFixtures.h"
#include "cards/Cards.h"
#include "cards/PngReader.h"

namespace troupe::cards {
namespace {

using namespace fixtures;

constexpr std::size_t kMax = 16u << 20;

boost::json::object parse_object(const std::string& json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);  // default options: depth 32, strict
  EXPECT_FALSE(ec) << ec.message() << "\n" << json;
  return v.is_object() ? v.as_object() : boost::json::object{};
}

store::Character imported(std::string_view bytes) {
  auto r = import_card(bytes, kMax);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? std::move(r).value() : store::Character{};
}

TEST(CardExport, V2JsonIsAValidCard) {
  const store::Character c = imported(v2_json());
  const auto o = parse_object(export_json(c, Spec::v2));
  EXPECT_EQ(o.at("spec").as_string(), "chara_card_v2");
  EXPECT_EQ(o.at("spec_version").as_string(), "2.0");
  EXPECT_EQ(o.at("name").as_string(), "Marie");  // V1 copy
  EXPECT_EQ(o.at("creatorcomment").as_string(), "kept at top level");
  const auto& d = o.at("data").as_object();
  for (const char* key :
       {"name", "description", "personality", "scenario", "first_mes", "mes_example",
        "creator_notes", "system_prompt", "post_history_instructions", "alternate_greetings",
        "character_book", "tags", "creator", "character_version", "extensions", "x_data_unknown"}) {
    EXPECT_TRUE(d.contains(key)) << key;
  }
  EXPECT_FALSE(d.contains("group_only_greetings"));
  EXPECT_EQ(d.at("description").as_string(), "Runs the harbour caf\xC3\xA9.\nAlways busy.");
  EXPECT_EQ(d.at("extensions").at("name").as_string(), "\xC3\xA9t\xC3\xA9");
}

TEST(CardExport, V3JsonIsAValidCard) {
  const store::Character c = imported(v2_json());
  const auto o = parse_object(export_json(c, Spec::v3));
  EXPECT_EQ(o.at("spec").as_string(), "chara_card_v3");
  EXPECT_EQ(o.at("spec_version").as_string(), "3.0");
  EXPECT_TRUE(o.at("data").at("group_only_greetings").as_array().empty());
  // A V3 card's own group_only_greetings is kept, not doubled.
  const auto o3 = parse_object(export_json(imported(v3_json()), Spec::v3));
  EXPECT_EQ(o3.at("data").at("group_only_greetings").as_array().size(), 1u);
  EXPECT_EQ(o3.at("data").at("nickname").as_string(), "Kes");
}

TEST(CardExport, JsonRoundTripIsExact) {
  const std::string inputs[] = {std::string(kV1), v2_json(), v3_json()};
  for (const std::string& input : inputs) {
    const store::Character first = imported(input);
    for (Spec spec : {Spec::v2, Spec::v3}) {
      const std::string out = export_json(first, spec);
      const store::Character again = imported(out);
      expect_same_card(first, again);
      EXPECT_EQ(again.source_spec, spec == Spec::v2 ? "v2" : "v3");
      EXPECT_EQ(export_json(again, spec), out);  // stable after one pass
    }
  }
  // The raw extensions and lorebook are the original input bytes.
  const store::Character v2 = imported(export_json(imported(v2_json()), Spec::v3));
  EXPECT_EQ(v2.extensions_json, kV2Extensions);
  EXPECT_EQ(v2.character_book_json, kV2Book);
  EXPECT_NE(export_json(v2, Spec::v2).find(std::string(kV2Extensions)), std::string::npos);
}

TEST(CardExport, PngCarriesBothChunksAndRoundTrips) {
  const store::Character first = imported(
      png_with({text_chunk("Comment", "kept"), text_chunk("chara", base64::encode(v2_json()))}));
  const std::string png = export_png(first);
  auto r = PngReader::parse(png);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto chara = base64::decode(r->find_text("chara").value().value());
  const auto ccv3 = base64::decode(r->find_text("ccv3").value().value());
  ASSERT_TRUE(chara.ok() && ccv3.ok());
  EXPECT_EQ(*chara, export_json(first, Spec::v2));
  EXPECT_EQ(*ccv3, export_json(first, Spec::v3));
  EXPECT_EQ(r->chunks().back().type, "IEND");

  const store::Character again = imported(png);
  expect_same_card(first, again);
  EXPECT_EQ(again.source_spec, "v3");
  EXPECT_EQ(again.avatar_png, first.avatar_png);
  EXPECT_EQ(again.avatar_png, png_with({text_chunk("Comment", "kept")}));
  EXPECT_EQ(export_png(again), png);
}

TEST(CardExport, PngWithoutAvatarUsesPlaceholder) {
  store::Character c = imported(v3_json());
  ASSERT_TRUE(c.avatar_png.empty());
  const std::string png = export_png(c);
  const store::Character again = imported(png);
  expect_same_card(c, again);
  EXPECT_EQ(again.avatar_png, PngWriter::placeholder("Kestrel"));

  c.avatar_png = "not a png";
  EXPECT_EQ(export_png(c), png);
}

TEST(CardExport, ToleratesMalformedStoredFields) {
  store::Character c;
  c.name = "Bad \xFF bytes \x01";
  c.extensions_json = "{not json";
  c.character_book_json = "[1]";
  c.extra_json = R"({"name":"dup","ok":1,"extensions":2})";
  c.top_extra_json = R"({"spec":"x","data":1,"keep":true})";
  const std::string out = export_json(c, Spec::v2);
  const auto o = parse_object(out);
  EXPECT_EQ(o.at("data").at("name").as_string(), "Bad \xEF\xBF\xBD bytes \x01");
  EXPECT_TRUE(o.at("data").at("extensions").as_object().empty());
  EXPECT_FALSE(o.at("data").as_object().contains("character_book"));
  EXPECT_EQ(o.at("data").at("ok").as_int64(), 1);
  EXPECT_EQ(o.at("spec").as_string(), "chara_card_v2");
  EXPECT_TRUE(o.at("keep").as_bool());
  EXPECT_EQ(out.find("\"dup\""), std::string::npos);
  c.extra_json = "{broken";
  EXPECT_FALSE(parse_object(export_json(c, Spec::v3)).empty());
}

}  // namespace
}  // namespace troupe::cards
