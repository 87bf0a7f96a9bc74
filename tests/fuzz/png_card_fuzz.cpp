// libFuzzer target: PNG (and any other bytes) through import_card; accepted cards must export and
// re-import unchanged.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "FuzzCardCheck.h"
#include "cards/Crc32.h"
#include "cards/PngReader.h"

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
