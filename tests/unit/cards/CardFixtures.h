// CardFixtures: cards and PNG files built in code for the cards tests.
// Thread-safety: pure functions.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "cards/Base64.h"
#include "cards/Crc32.h"
#include "cards/Inflater.h"
#include "cards/PngWriter.h"
#include "store/Records.h"

namespace troupe::cards::fixtures {

inline void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

// One chunk with a correct CRC.
inline std::string chunk(std::string_view type, std::string_view data) {
  std::string out;
  PngWriter::append_chunk(out, type, data);
  return out;
}

inline std::string text_chunk(std::string_view keyword, std::string_view text) {
  std::string data(keyword);
  data.push_back('\0');
  data.append(text);
  return chunk("tEXt", data);
}

inline std::string ztxt_chunk(std::string_view keyword, std::string_view text) {
  std::string data(keyword);
  data.push_back('\0');
  data.push_back('\0');  // compression method 0
  data.append(zlib_stream::deflate(text));
  return chunk("zTXt", data);
}

inline std::string itxt_chunk(std::string_view keyword, std::string_view text, bool compressed) {
  std::string data(keyword);
  data.push_back('\0');
  data.push_back(compressed ? '\1' : '\0');
  data.push_back('\0');
  data.append("en");
  data.push_back('\0');
  data.append("translated");
  data.push_back('\0');
  data.append(compressed ? zlib_stream::deflate(text) : std::string(text));
  return chunk("iTXt", data);
}

// A small valid image (4x4 placeholder) without text chunks.
inline std::string base_png() { return PngWriter::placeholder("fixture", 4); }

// `png` with raw chunk bytes inserted right before its IEND (the last 12 bytes).
inline std::string insert_before_iend(std::string png, std::string_view chunks) {
  png.insert(png.size() - 12, chunks);
  return png;
}

inline std::string png_with(const std::vector<std::string>& chunks) {
  std::string all;
  for (const auto& c : chunks) all += c;
  return insert_before_iend(base_png(), all);
}

// --- JSON cards -------------------------------------------------------------------------------

inline constexpr std::string_view kV1 = R"({
  "name": "Old Tom",
  "description": "A grumpy lighthouse keeper.",
  "personality": "gruff, kind underneath",
  "scenario": "A storm night.",
  "first_mes": "Shut the door, {{user}}!",
  "mes_example": "<START>\n{{char}}: Hmph.",
  "avatar": "none",
  "talkativeness": 0.50,
  "create_date": "2023-5-1 @10h 00m 00s 00ms"
})";

// The extensions of kV2, embedded verbatim: odd number spellings, escapes, nested unknown keys.
inline constexpr std::string_view kV2Extensions =
    R"({ "talkativeness": 1.50, "big": 1e3, "neg": -0, "exp": 2.5E-3, "name": "\u00e9t\u00e9",)"
    R"( "nested": { "unknown": [1, 2.0, {"x": null, "y": "\ud83d\ude00"}], "deep": {"a": {"b": {}}} },)"
    R"( "depth_prompt": {"prompt": "Stay in character.", "depth": 4}, "fav": false })";

inline constexpr std::string_view kV2Book =
    R"({"name": "Harbour lore", "scan_depth": 3, "token_budget": 512.0, "recursive_scanning": false,)"
    R"( "extensions": {"custom": 1e-2}, "entries": [)"
    R"( {"keys": ["harbour", "port"], "content": "The harbour freezes in winter.", "extensions": {"weight": 1.50},)"
    R"(  "enabled": true, "insertion_order": 1e2, "id": -0, "case_sensitive": null},)"
    R"( {"keys": ["caf\u00e9"], "secondary_keys": [], "content": "Marie runs the caf\u00e9.", "extensions": {},)"
    R"(  "enabled": false, "insertion_order": 10, "priority": 3, "selective": true, "constant": false} ]})";

inline std::string v2_json() {
  return std::string(
             R"({"spec": "chara_card_v2", "spec_version": "2.0", "name": "stale top-level copy",
  "data": {
    "name": "Marie",
    "description": "Runs the harbour caf\u00e9.\nAlways busy.",
    "personality": "cheerful",
    "scenario": "Morning rush.",
    "first_mes": "Bonjour, {{user}}! \"Coffee?\"",
    "mes_example": "<START>\n{{user}}: Hi\n{{char}}: Hello!",
    "creator_notes": "Test card",
    "system_prompt": "You are {{char}}.",
    "post_history_instructions": "Keep replies short.",
    "alternate_greetings": ["Salut!", "Welcome back, {{user}}."],
    "character_book": )") +
         std::string(kV2Book) + R"(,
    "tags": ["cafe", "slice of life"],
    "creator": "tester",
    "character_version": "1.2",
    "extensions": )" +
         std::string(kV2Extensions) + R"(,
    "x_data_unknown": {"keep": [1.0, -0.0, 1E+2]}
  },
  "x_top_unknown": [true, false, null],
  "creatorcomment": "kept at top level"
})";
}

inline constexpr std::string_view kV3Extensions =
    R"({"risuai": {"utilityBot": false, "n": 1.0e0}})";

inline std::string v3_json() {
  return std::string(R"({"spec":"chara_card_v3","spec_version":"3.0","data":{
    "name":"Kestrel","description":"A falconer.","personality":"patient","scenario":"Moorland.",
    "first_mes":"Hold out your arm.","mes_example":"","creator_notes":"v3 card",
    "system_prompt":"","post_history_instructions":"","alternate_greetings":[],
    "tags":["outdoors"],"creator":"tester","character_version":"3",
    "extensions":)") +
         std::string(kV3Extensions) + R"(,
    "nickname":"Kes","creator_notes_multilingual":{"fr":"carte v3"},"source":["https://example.invalid/k"],
    "group_only_greetings":["Everyone, quiet."],"creation_date":1700000000,"modification_date":1700000001.5,
    "assets":[{"type":"icon","uri":"ccdefault:","name":"main","ext":"png"}]}})";
}

// A card whose JSON is V2 with a given name, for PNG chunk tests.
inline std::string named_v2(std::string_view name) {
  return std::string(R"({"spec":"chara_card_v2","spec_version":"2.0","data":{"name":")") +
         std::string(name) + R"(","extensions":{}}})";
}
inline std::string named_v3(std::string_view name) {
  return std::string(R"({"spec":"chara_card_v3","spec_version":"3.0","data":{"name":")") +
         std::string(name) + R"(","extensions":{},"group_only_greetings":[]}})";
}

// Every field that import/export must preserve, except source_spec and avatar_png.
inline void expect_same_card(const store::Character& a, const store::Character& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.personality, b.personality);
  EXPECT_EQ(a.scenario, b.scenario);
  EXPECT_EQ(a.first_mes, b.first_mes);
  EXPECT_EQ(a.mes_example, b.mes_example);
  EXPECT_EQ(a.creator_notes, b.creator_notes);
  EXPECT_EQ(a.system_prompt, b.system_prompt);
  EXPECT_EQ(a.post_history_instructions, b.post_history_instructions);
  EXPECT_EQ(a.alternate_greetings, b.alternate_greetings);
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.creator, b.creator);
  EXPECT_EQ(a.character_version, b.character_version);
  EXPECT_EQ(a.extensions_json, b.extensions_json);
  EXPECT_EQ(a.character_book_json, b.character_book_json);
  EXPECT_EQ(a.extra_json, b.extra_json);
  EXPECT_EQ(a.top_extra_json, b.top_extra_json);
}

}  // namespace troupe::cards::fixtures
