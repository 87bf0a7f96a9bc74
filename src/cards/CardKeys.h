// CardKeys: the JSON keys the card reader types and the writer emits itself.
// Thread-safety: constants only.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "store/Records.h"

namespace troupe::cards::keys {

struct StringField {
  std::string_view key;
  std::string store::Character::*member;
};

// The V1 fields; in V2/V3 they live under `data` and are duplicated at the top level.
inline constexpr std::array<StringField, 6> kV1Fields{{
    {"name", &store::Character::name},
    {"description", &store::Character::description},
    {"personality", &store::Character::personality},
    {"scenario", &store::Character::scenario},
    {"first_mes", &store::Character::first_mes},
    {"mes_example", &store::Character::mes_example},
}};

// String fields that V2 added under `data`.
inline constexpr std::array<StringField, 5> kV2StringFields{{
    {"creator_notes", &store::Character::creator_notes},
    {"system_prompt", &store::Character::system_prompt},
    {"post_history_instructions", &store::Character::post_history_instructions},
    {"creator", &store::Character::creator},
    {"character_version", &store::Character::character_version},
}};

inline constexpr std::string_view kAlternateGreetings = "alternate_greetings";
// V1 has no creator_notes; some V1 editors wrote the same text under this key.
inline constexpr std::string_view kV1CreatorComment = "creatorcomment";
inline constexpr std::string_view kTags = "tags";
inline constexpr std::string_view kExtensions = "extensions";
inline constexpr std::string_view kCharacterBook = "character_book";
// V3 data field; required by V3, so an empty one is implied and emitted by the V3 writer.
inline constexpr std::string_view kGroupOnlyGreetings = "group_only_greetings";

inline constexpr std::string_view kSpec = "spec";
inline constexpr std::string_view kSpecVersion = "spec_version";
inline constexpr std::string_view kData = "data";
inline constexpr std::string_view kSpecV2 = "chara_card_v2";
inline constexpr std::string_view kSpecV3 = "chara_card_v3";

// Top-level keys the writer always emits itself; the reader never keeps them as unknown keys.
inline bool reserved_top_level(std::string_view key) noexcept {
  if (key == kSpec || key == kSpecVersion || key == kData) return true;
  for (const auto& f : kV1Fields) {
    if (key == f.key) return true;
  }
  return false;
}

// `data` keys that are typed (the writer emits them from store::Character fields).
inline bool typed_data_key(std::string_view key) noexcept {
  for (const auto& f : kV1Fields) {
    if (key == f.key) return true;
  }
  for (const auto& f : kV2StringFields) {
    if (key == f.key) return true;
  }
  return key == kAlternateGreetings || key == kTags || key == kExtensions || key == kCharacterBook;
}

}  // namespace troupe::cards::keys
