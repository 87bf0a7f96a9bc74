// PngWriter: writes PNG files: copies an existing PNG's chunks while replacing text chunks, or
// generates a small solid-colour placeholder image.
// Thread-safety: stateless static functions; call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cards/PngReader.h"

namespace troupe::cards {

struct PngTextEntry {
  std::string keyword;  // 1..79 Latin-1 bytes, no NUL
  std::string text;     // Latin-1 bytes, no NUL (base64 card data is plain ASCII)
};

class PngWriter {
 public:
  // Copies every chunk of `source` byte for byte, except text chunks (tEXt/zTXt/iTXt) whose
  // keyword matches one of `drop` (ASCII case-insensitive), then inserts `add` as tEXt chunks
  // right before IEND. Bytes after IEND are not copied.
  static std::string rewrite(const PngReader& source, const std::vector<std::string_view>& drop,
                             const std::vector<PngTextEntry>& add);

  // A valid size x size 8-bit RGB image of one colour derived from `seed` (e.g. the name).
  static std::string placeholder(std::string_view seed, std::uint32_t size = 256);

  // Appends one chunk (length, type, data, CRC) to `out`.
  static void append_chunk(std::string& out, std::string_view type, std::string_view data);
};

}  // namespace troupe::cards
