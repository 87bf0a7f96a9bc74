// PngReader: walks the chunks of a PNG file without decoding pixels. Checks the signature, every
// chunk's CRC and the size caps; requires IHDR first, an IDAT and IEND; extracts text chunks.
// Thread-safety: immutable after parse(); const member functions may run on any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/Result.h"

namespace troupe::cards {

struct PngLimits {
  std::size_t max_total_bytes = std::size_t{16} << 20;  // whole file
  std::size_t max_chunk_bytes = std::size_t{8} << 20;   // data of one chunk
  std::size_t max_chunks = 10000;                       // chunks up to and including IEND
  std::size_t max_text_bytes = std::size_t{8} << 20;    // one inflated zTXt/iTXt text
};

struct PngChunk {
  std::size_t index = 0;   // 0 = IHDR
  std::size_t offset = 0;  // byte position of the chunk's length field in the file
  std::string_view type;   // four ASCII letters
  std::string_view data;   // chunk data
  std::string_view raw;    // length + type + data + CRC, exactly as in the file
};

class PngReader {
 public:
  static constexpr std::string_view kSignature{"\x89PNG\r\n\x1a\n", 8};

  static bool has_signature(std::string_view bytes) noexcept {
    return bytes.substr(0, kSignature.size()) == kSignature;
  }

  // Parses `png`, which must outlive the reader. Errors: Errc::bad_request for malformed input
  // ("PNG chunk 3 (tEXt) at byte 57: CRC mismatch"), Errc::too_large when a cap is exceeded.
  // Bytes after IEND are ignored.
  static Result<PngReader> parse(std::string_view png, const PngLimits& limits = {});
  // The reader points into the file, so parsing a temporary string is refused at compile time.
  static Result<PngReader> parse(std::string&& png, const PngLimits& limits = {}) = delete;

  const std::vector<PngChunk>& chunks() const noexcept { return chunks_; }

  // Keyword of a tEXt, zTXt or iTXt chunk; empty for any other chunk type.
  static std::string_view text_keyword(const PngChunk& chunk) noexcept;

  // The text of a tEXt/zTXt/iTXt chunk: Latin-1 bytes for tEXt/zTXt, UTF-8 for iTXt. Compressed
  // text is inflated under limits.max_text_bytes (Errc::too_large beyond it).
  Result<std::string> text_of(const PngChunk& chunk) const;

  // Text of the first text chunk whose keyword equals `keyword` (ASCII case-insensitive).
  Result<std::optional<std::string>> find_text(std::string_view keyword) const;

  // ASCII case-insensitive keyword comparison.
  static bool keyword_equals(std::string_view a, std::string_view b) noexcept;

 private:
  PngReader(std::vector<PngChunk> chunks, const PngLimits& limits)
      : chunks_(std::move(chunks)), limits_(limits) {}

  std::vector<PngChunk> chunks_;
  PngLimits limits_;
};

}  // namespace troupe::cards
