#include <gtest/gtest.h>

#include "CardFixtures.h"
#include "cards/Cards.h"

namespace troupe::cards {
namespace {

using namespace fixtures;

constexpr std::size_t kMax = 16u << 20;

bool has(const Error& e, std::string_view part) {
  return e.message.find(part) != std::string::npos;
}

Error import_error(std::string_view bytes, std::size_t max = kMax) {
  auto r = import_card(bytes, max);
  EXPECT_FALSE(r.ok()) << bytes.substr(0, 200);
  return r.ok() ? Error{} : r.error();
}

TEST(CardImport, V1FlatCard) {
  auto r = import_card(kV1, kMax);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const store::Character& c = *r;
  EXPECT_EQ(c.source_spec, "v1");
  EXPECT_EQ(c.name, "Old Tom");
  EXPECT_EQ(c.description, "A grumpy lighthouse keeper.");
  EXPECT_EQ(c.personality, "gruff, kind underneath");
  EXPECT_EQ(c.scenario, "A storm night.");
  EXPECT_EQ(c.first_mes, "Shut the door, {{user}}!");
  EXPECT_EQ(c.mes_example, "<START>\n{{char}}: Hmph.");
  EXPECT_EQ(c.extensions_json, "{}");
  EXPECT_EQ(c.character_book_json, "");
  EXPECT_EQ(c.extra_json, "{}");
  EXPECT_EQ(c.top_extra_json,
            R"({"avatar":"none","talkativeness":0.50,"create_date":"2023-5-1 @10h 00m 00s 00ms"})");
  EXPECT_EQ(c.avatar_png, "");
}

TEST(CardImport, V1CreatorCommentBecomesCreatorNotesAndStaysTopLevel) {
  const std::string json =
      R"({"name":"Ann","creatorcomment":"Best with a \"slow\" model.","talkativeness":0.5})";
  auto r = import_card(json, kMax);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->creator_notes, "Best with a \"slow\" model.");
  EXPECT_EQ(r->top_extra_json, R"({"creatorcomment":"Best with a \"slow\" model.","talkativeness":0.5})");
  // A non-string creatorcomment is kept as an unknown key and maps to nothing.
  auto odd = import_card(R"({"name":"Ann","creatorcomment":7})", kMax);
  ASSERT_TRUE(odd.ok()) << odd.error().message;
  EXPECT_EQ(odd->creator_notes, "");
}

TEST(CardImport, V2WithLorebookKeepsRawPartsByteForByte) {
  const std::string json = v2_json();
  auto r = import_card(json, kMax);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const store::Character& c = *r;
  EXPECT_EQ(c.source_spec, "v2");
  EXPECT_EQ(c.name, "Marie");  // data wins over the top-level copy
  EXPECT_EQ(c.description, "Runs the harbour caf\xC3\xA9.\nAlways busy.");
  EXPECT_EQ(c.first_mes, "Bonjour, {{user}}! \"Coffee?\"");
  EXPECT_EQ(c.creator_notes, "Test card");
  EXPECT_EQ(c.system_prompt, "You are {{char}}.");
  EXPECT_EQ(c.post_history_instructions, "Keep replies short.");
  EXPECT_EQ(c.alternate_greetings, (std::vector<std::string>{"Salut!", "Welcome back, {{user}}."}));
  EXPECT_EQ(c.tags, (std::vector<std::string>{"cafe", "slice of life"}));
  EXPECT_EQ(c.creator, "tester");
  EXPECT_EQ(c.character_version, "1.2");
  EXPECT_EQ(c.extensions_json, kV2Extensions);
  EXPECT_EQ(c.character_book_json, kV2Book);
  EXPECT_EQ(c.extra_json, R"({"x_data_unknown":{"keep": [1.0, -0.0, 1E+2]}})");
  EXPECT_EQ(c.top_extra_json,
            R"({"x_top_unknown":[true, false, null],"creatorcomment":"kept at top level"})");
}

TEST(CardImport, V3KeepsV3FieldsInExtra) {
  auto r = import_card(v3_json(), kMax);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->source_spec, "v3");
  EXPECT_EQ(r->name, "Kestrel");
  EXPECT_EQ(r->tags, std::vector<std::string>{"outdoors"});
  EXPECT_TRUE(r->alternate_greetings.empty());
  EXPECT_EQ(r->extensions_json, kV3Extensions);
  EXPECT_EQ(r->extra_json,
            R"({"nickname":"Kes","creator_notes_multilingual":{"fr":"carte v3"},)"
            R"("source":["https://example.invalid/k"],"group_only_greetings":["Everyone, quiet."],)"
            R"("creation_date":1700000000,"modification_date":1700000001.5,)"
            R"("assets":[{"type":"icon","uri":"ccdefault:","name":"main","ext":"png"}]})");
  EXPECT_EQ(r->top_extra_json, "{}");
}

TEST(CardImport, NullFieldsCountAsAbsentAndBomIsIgnored) {
  auto r = import_card(
      "\xEF\xBB\xBF"
      R"({"spec":"chara_card_v2","data":{"name":"N","description":null,)"
      R"("tags":null,"extensions":null,"character_book":null,"group_only_greetings":[ ]}})",
      kMax);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->description, "");
  EXPECT_EQ(r->extensions_json, "{}");
  EXPECT_EQ(r->character_book_json, "");
  EXPECT_EQ(r->extra_json, "{}");  // an empty group_only_greetings is implied
}

TEST(CardImport, RefusesInvalidCards) {
  struct Case {
    std::string json;
    std::string expect;
  };
  const Case cases[] = {
      {R"({"description":"no name"})", "card has no name"},
      {R"({"name":""})", "card has no name"},
      {R"({"name":7})", "\"name\" must be a string (at byte 8)"},
      {R"({"spec":"chara_card_v2","data":{"name":"a","tags":"x"}})", "\"tags\" must be an array"},
      {R"({"spec":"chara_card_v2","data":{"name":"a","tags":["x",1]}})",
       "\"tags\" must hold only strings"},
      {R"({"spec":"chara_card_v2","data":{"name":"a","extensions":[]}})",
       "\"extensions\" must be an object"},
      {R"({"spec":"chara_card_v2","data":{"name":"a","character_book":"b"}})",
       "\"character_book\" must be"},
      {R"({"spec":"chara_card_v9","data":{"name":"a"}})",
       "unsupported card spec \"chara_card_v9\""},
      {R"({"spec":2,"data":{"name":"a"}})", "\"spec\" must be a string"},
      {R"({"spec":"chara_card_v2","name":"a"})", "requires a \"data\" object"},
      {R"({"spec":"chara_card_v2","data":[]})", "\"data\" must be an object"},
      {R"({"spec":"chara_card_v2","data":{"name":"a","name":"b"}})", "duplicate key \"name\""},
      {R"({"spec":"chara_card_v2","data":{},"data":{}})", "duplicate key \"data\""},
      {R"({"name":"a",})", "invalid JSON at byte 12: expected a string key"},
      {R"(["name"])", "card JSON must be an object"},
      {"GIF89a", "invalid JSON at byte 0"},
      {"", "invalid JSON at byte 0"},
  };
  for (const Case& c : cases) {
    const Error e = import_error(c.json);
    EXPECT_EQ(e.code, Errc::bad_request) << c.json;
    EXPECT_TRUE(has(e, c.expect)) << c.json << " -> " << e.message;
  }
}

TEST(CardImport, EnforcesSizeCaps) {
  const Error total = import_error(kV1, 10);
  EXPECT_EQ(total.code, Errc::too_large);

  const std::string big_field =
      R"({"name":"a","description":")" + std::string((1u << 20) + 1, 'x') + "\"}";
  const Error field = import_error(big_field);
  EXPECT_EQ(field.code, Errc::too_large);
  EXPECT_TRUE(has(field, "\"description\" is 1048577 bytes, limit 1048576")) << field.message;

  std::string many = R"({"spec":"chara_card_v2","data":{"name":"a","tags":[)";
  for (int i = 0; i < 1001; ++i) many += (i ? ",\"t\"" : "\"t\"");
  many += "]}}";
  const Error list = import_error(many);
  EXPECT_EQ(list.code, Errc::too_large);
  EXPECT_TRUE(has(list, "\"tags\" has 1001 items, limit 1000")) << list.message;

  const std::string deep = R"({"spec":"chara_card_v2","data":{"name":"a","extensions":)" +
                           std::string(40, '[') + std::string(40, ']') + "}}";
  EXPECT_TRUE(has(import_error(deep), "nesting deeper than 32"));
}

TEST(CardImport, LimitsAreConfigurable) {
  CardLimits limits;
  limits.max_field_bytes = 4;
  limits.max_list_items = 1;
  auto field = import_card(R"({"name":"Hello"})", kMax, limits);
  ASSERT_FALSE(field.ok());
  EXPECT_EQ(field.error().code, Errc::too_large);
  auto list =
      import_card(R"({"spec":"chara_card_v2","data":{"name":"a","alternate_greetings":["x","y"]}})",
                  kMax, limits);
  ASSERT_FALSE(list.ok());
  EXPECT_TRUE(has(list.error(), "\"alternate_greetings\" has 2 items, limit 1"));
  limits.png.max_chunks = 3;
  auto chunks =
      import_card(png_with({text_chunk("chara", base64::encode(named_v2("x")))}), kMax, limits);
  ASSERT_FALSE(chunks.ok());
  EXPECT_TRUE(has(chunks.error(), "more than 3 chunks"));
}

TEST(CardImport, PngWithOnlyChara) {
  const std::string png = png_with({text_chunk("chara", base64::encode(v2_json()))});
  auto r = import_card(png, kMax);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->source_spec, "v2");
  EXPECT_EQ(r->name, "Marie");
  EXPECT_EQ(r->extensions_json, kV2Extensions);
  EXPECT_EQ(r->avatar_png, base_png());  // the card chunk is removed from the avatar
}

TEST(CardImport, PngWithOnlyCcv3) {
  const std::string png =
      png_with({text_chunk("Comment", "kept"), text_chunk("ccv3", base64::encode(v3_json()))});
  auto r = import_card(png, kMax);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->source_spec, "v3");
  EXPECT_EQ(r->name, "Kestrel");
  EXPECT_EQ(r->avatar_png, png_with({text_chunk("Comment", "kept")}));
}

TEST(CardImport, PngWithBothPrefersCcv3) {
  for (bool ccv3_first : {false, true}) {
    const std::string chara = text_chunk("chara", base64::encode(named_v2("FromChara")));
    const std::string ccv3 = text_chunk("ccv3", base64::encode(named_v3("FromCcv3")));
    const std::string png = ccv3_first ? png_with({ccv3, chara}) : png_with({chara, ccv3});
    auto r = import_card(png, kMax);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->name, "FromCcv3");
    EXPECT_EQ(r->source_spec, "v3");
    EXPECT_EQ(r->avatar_png, base_png());
  }
}

TEST(CardImport, PngWithCompressedCardChunks) {
  auto z = import_card(png_with({ztxt_chunk("chara", base64::encode(named_v2("Zed")))}), kMax);
  ASSERT_TRUE(z.ok()) << z.error().message;
  EXPECT_EQ(z->name, "Zed");
  auto i = import_card(png_with({itxt_chunk("ccv3", base64::encode(named_v3("Ida")), true)}), kMax);
  ASSERT_TRUE(i.ok()) << i.error().message;
  EXPECT_EQ(i->name, "Ida");
  EXPECT_EQ(i->avatar_png, base_png());
}

TEST(CardImport, PngBase64ToleratesWhitespaceAndMissingPadding) {
  std::string b64 = base64::encode(named_v2("Wrapped"));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  std::string wrapped;
  for (std::size_t i = 0; i < b64.size(); ++i) {
    if (i && i % 20 == 0) wrapped += "\r\n";
    wrapped += b64[i];
  }
  auto r = import_card(png_with({text_chunk("chara", wrapped)}), kMax);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->name, "Wrapped");
}

TEST(CardImport, RefusesBrokenPngCards) {
  const Error none = import_error(png_with({text_chunk("Comment", "hi")}));
  EXPECT_EQ(none.code, Errc::bad_request);
  EXPECT_TRUE(has(none, "no chara or ccv3 card chunk"));

  const Error b64 = import_error(png_with({text_chunk("chara", "eyJuYW1l*ZSI6")}));
  EXPECT_EQ(b64.code, Errc::bad_request);
  EXPECT_TRUE(has(b64, "PNG chara chunk: invalid base64: unexpected character 0x2a at offset 8"))
      << b64.message;

  const Error not_json =
      import_error(png_with({text_chunk("ccv3", base64::encode("hello there"))}));
  EXPECT_EQ(not_json.code, Errc::bad_request);
  EXPECT_TRUE(has(not_json, "PNG ccv3 chunk: invalid JSON at byte 0")) << not_json.message;

  // A broken ccv3 is not papered over by a good chara.
  const Error broken_v3 =
      import_error(png_with({text_chunk("chara", base64::encode(named_v2("ok"))),
                             text_chunk("ccv3", base64::encode("{}"))}));
  EXPECT_TRUE(has(broken_v3, "PNG ccv3 chunk: card has no name")) << broken_v3.message;

  std::string bad_sig = png_with({text_chunk("chara", base64::encode(named_v2("x")))});
  bad_sig[0] = 'X';
  EXPECT_EQ(import_error(bad_sig).code, Errc::bad_request);

  std::string bad_crc = png_with({text_chunk("chara", base64::encode(named_v2("x")))});
  bad_crc[bad_crc.size() - 13] ^= 0x40;
  EXPECT_TRUE(has(import_error(bad_crc), "CRC mismatch"));

  const std::string ok = png_with({text_chunk("chara", base64::encode(named_v2("x")))});
  EXPECT_TRUE(has(import_error(ok.substr(0, ok.size() - 12)), "without an IEND"));
  EXPECT_TRUE(has(import_error(ok.substr(0, ok.size() - 20)), "truncated chunk"));
  EXPECT_EQ(import_error(ok, ok.size() - 1).code, Errc::too_large);
}

TEST(CardImport, RefusesCompressedCardBomb) {
  const std::string zeros(24u << 20, ' ');
  const Error e = import_error(png_with({ztxt_chunk("chara", zeros)}));
  EXPECT_EQ(e.code, Errc::too_large);
  EXPECT_TRUE(has(e, "inflates past the limit")) << e.message;
}

TEST(CardImport, RefusesHostileChunkCounts) {
  std::string many;
  const std::string tiny = chunk("tiNy", "");
  for (int i = 0; i < 100'000; ++i) many += tiny;
  const Error e = import_error(
      insert_before_iend(png_with({text_chunk("chara", base64::encode(named_v2("x")))}), many));
  EXPECT_EQ(e.code, Errc::too_large);
}

}  // namespace
}  // namespace troupe::cards
