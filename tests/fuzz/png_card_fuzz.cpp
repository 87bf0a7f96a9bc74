// libFuzzer target: PNG (and any other bytes) through import_card; accepted cards must export and
// re-import unchanged.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cards/Cards.h"
#include "cards/Crc32.h"
#include "cards/PngReader.h"

// Properties asserted on every accepted input: each export is valid JSON for Boost.JSON (default
// options) and re-imports to the same card. A violation aborts so libFuzzer records the input.
namespace troupe::cards::fuzz {

[[noreturn]] inline void violated(const char* what, const std::string& detail) {
  std::fprintf(stderr, "property violated: %s\n%s\n", what, detail.c_str());
  std::abort();
}

inline void check_same(const store::Character& a, const store::Character& b, const char* path) {
  const bool same =
      a.name == b.name && a.description == b.description && a.personality == b.personality &&
      a.scenario == b.scenario && a.first_mes == b.first_mes && a.mes_example == b.mes_example &&
      a.creator_notes == b.creator_notes && a.system_prompt == b.system_prompt &&
      a.post_history_instructions == b.post_history_instructions &&
      a.alternate_greetings == b.alternate_greetings && a.tags == b.tags &&
      a.creator == b.creator && a.character_version == b.character_version &&
      a.extensions_json == b.extensions_json && a.character_book_json == b.character_book_json &&
      a.extra_json == b.extra_json && a.top_extra_json == b.top_extra_json;
  if (!same) violated(path, "extra: " + a.extra_json + "\nvs:    " + b.extra_json);
}

inline void check_round_trips(const store::Character& c) {
  constexpr std::size_t kMax = std::size_t{64} << 20;
  for (Spec spec : {Spec::v2, Spec::v3}) {
    const std::string json = export_json(c, spec);
    boost::system::error_code ec;
    boost::json::parse(json, ec);
    if (ec) violated("export_json is not valid JSON for Boost.JSON", ec.message() + "\n" + json);
    auto again = import_card(json, kMax);
    if (!again.ok())
      violated("export_json does not re-import", again.error().message + "\n" + json);
    check_same(c, *again, "export_json round trip changed the card");
  }
  auto png = import_card(export_png(c), kMax);
  if (!png.ok()) violated("export_png does not re-import", png.error().message);
  check_same(c, *png, "export_png round trip changed the card");
  if (!c.avatar_png.empty() && png->avatar_png != c.avatar_png) {
    violated("export_png changed the avatar", "");
  }
}

}  // namespace troupe::cards::fuzz

namespace {

// A copy of `png` with every complete chunk's CRC recomputed, so mutations reach the code behind
// the CRC check instead of stopping there.
std::string with_fixed_crcs(std::string png) {
  std::size_t pos = troupe::cards::PngReader::kSignature.size();
  while (png.size() >= pos + 12) {
    std::uint32_t length = 0;
    for (int k = 0; k < 4; ++k) length = (length << 8) | static_cast<unsigned char>(png[pos + k]);
    if (png.size() - pos - 12 < length) break;
    const std::uint32_t crc =
        troupe::cards::crc32(std::string_view(png).substr(pos + 4, length + 4));
    for (int k = 0; k < 4; ++k) png[pos + 8 + length + k] = static_cast<char>(crc >> (24 - 8 * k));
    pos += std::size_t{length} + 12;
  }
  return png;
}

void run(std::string_view bytes) {
  using namespace troupe::cards;
  // Small caps keep each run fast while still exercising every limit path.
  CardLimits limits;
  limits.png.max_chunks = 64;
  limits.png.max_chunk_bytes = 64 << 10;
  limits.png.max_text_bytes = 256 << 10;
  auto card = import_card(bytes, 1 << 20, limits);
  if (!card.ok()) {
    if (card.error().message.empty()) fuzz::violated("error without a reason", "");
    return;
  }
  if (PngReader::has_signature(bytes) && card->avatar_png.empty()) {
    fuzz::violated("PNG card without avatar", "");
  }
  fuzz::check_round_trips(*card);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  run(bytes);
  if (troupe::cards::PngReader::has_signature(bytes)) {
    const std::string fixed = with_fixed_crcs(std::string(bytes));
    if (fixed != bytes) run(fixed);
  }
  return 0;
}
