// Cards: the entry header of the Character Card subsystem: import of V1/V2/V3 cards from JSON or
// PNG (`chara`/`ccv3` text chunks) and export as V2/V3 JSON or PNG.
// Thread-safety: pure functions without shared state; call from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "cards/PngReader.h"
#include "core/Result.h"
#include "store/Records.h"

namespace troupe::cards {

enum class Spec { v2, v3 };

struct CardLimits {
  std::size_t max_field_bytes = std::size_t{1} << 20;  // one decoded string field
  std::size_t max_list_items = 1000;                   // alternate_greetings, tags
  std::size_t max_json_depth = 32;                     // Boost.JSON's default parse depth
  PngLimits png;  // png.max_total_bytes is replaced by import_card's max_bytes
};

// Imports a card from JSON (V1 flat, V2 "chara_card_v2", V3 "chara_card_v3") or from a PNG whose
// `ccv3` (preferred) or `chara` tEXt/zTXt/iTXt chunk holds the base64 of such JSON.
// Typed fields fill store::Character; data.extensions, data.character_book, unknown `data` keys and
// unknown top-level keys are kept as their exact source bytes. For a PNG, avatar_png is the image
// with its card chunks removed. id/user_id/timestamps are left 0.
// Errors: Errc::bad_request with a reason (JSON errors carry the byte position), Errc::too_large
// when `bytes` exceeds max_bytes or a field, list, chunk or inflated text exceeds its cap.
Result<store::Character> import_card(std::string_view bytes, std::size_t max_bytes);
Result<store::Character> import_card(std::string_view bytes, std::size_t max_bytes,
                                     const CardLimits& limits);

// A V2 or V3 card as compact JSON. Raw fields are emitted verbatim when they are well-formed
// objects of the right shape and dropped otherwise; invalid UTF-8 in typed fields becomes U+FFFD.
std::string export_json(const store::Character& c, Spec spec);

// The avatar (or, if absent or not a valid PNG, a placeholder derived from the name) carrying a
// `chara` tEXt chunk (V2 JSON, base64) and a `ccv3` tEXt chunk (V3 JSON, base64).
std::string export_png(const store::Character& c);

}  // namespace troupe::cards
