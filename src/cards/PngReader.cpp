#include "cards/PngReader.h"

#include <cstdint>

#include "cards/Crc32.h"
#include "cards/Inflater.h"

namespace troupe::cards {

namespace {

constexpr std::uint32_t kMaxPngLength = 0x7FFFFFFFu;  // PNG spec: lengths fit in 31 bits
constexpr std::size_t kMaxKeyword = 79;

std::uint32_t read_u32(std::string_view s, std::size_t at) noexcept {
  auto b = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + k]));
  };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

bool is_letter(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

std::string type_label(std::string_view type) {
  bool letters = true;
  for (char c : type) letters = letters && is_letter(c);
  if (letters) return std::string(type);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex = "0x";
  for (char c : type) {
    hex.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
    hex.push_back(kHex[static_cast<unsigned char>(c) & 15]);
  }
  return hex;
}

Error chunk_error(Errc code, std::size_t index, std::size_t offset, std::string_view type,
                  std::string_view what) {
  return Error{code, "PNG chunk " + std::to_string(index) + " (" + type_label(type) + ") at byte " +
                         std::to_string(offset) + ": " + std::string(what)};
}

bool is_text_type(std::string_view type) noexcept {
  return type == "tEXt" || type == "zTXt" || type == "iTXt";
}

// The parts of a text chunk, before any inflation.
struct TextLayout {
  std::string_view keyword;
  bool compressed = false;
  std::string_view body;
};

Result<TextLayout> split_text(const PngChunk& c) {
  auto bad = [&](std::string_view what) {
    return chunk_error(Errc::bad_request, c.index, c.offset, c.type, what);
  };
  const std::size_t nul = c.data.find('\0');
  if (nul == std::string_view::npos) return bad("keyword is not NUL-terminated");
  if (nul == 0 || nul > kMaxKeyword) return bad("keyword must be 1 to 79 bytes");
  TextLayout t;
  t.keyword = c.data.substr(0, nul);
  std::string_view rest = c.data.substr(nul + 1);
  if (c.type == "tEXt") {
    t.body = rest;
    return t;
  }
  if (c.type == "zTXt") {
    if (rest.empty() || rest[0] != 0) return bad("unknown compression method");
    t.compressed = true;
    t.body = rest.substr(1);
    return t;
  }
  // iTXt: compression flag, method, language tag NUL, translated keyword NUL, text.
  if (rest.size() < 2) return bad("truncated iTXt header");
  if (rest[0] != 0 && rest[0] != 1) return bad("invalid compression flag");
  if (rest[1] != 0) return bad("unknown compression method");
  t.compressed = rest[0] == 1;
  rest.remove_prefix(2);
  const std::size_t lang_end = rest.find('\0');
  if (lang_end == std::string_view::npos) return bad("language tag is not NUL-terminated");
  rest.remove_prefix(lang_end + 1);
  const std::size_t translated_end = rest.find('\0');
  if (translated_end == std::string_view::npos)
    return bad("translated keyword is not NUL-terminated");
  t.body = rest.substr(translated_end + 1);
  return t;
}

}  // namespace

bool PngReader::keyword_equals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

Result<PngReader> PngReader::parse(std::string_view png, const PngLimits& limits) {
  if (png.size() > limits.max_total_bytes) {
    return Error{Errc::too_large, "PNG is " + std::to_string(png.size()) + " bytes, limit " +
                                      std::to_string(limits.max_total_bytes)};
  }
  if (!has_signature(png)) return Error{Errc::bad_request, "not a PNG file (bad signature)"};
  std::vector<PngChunk> chunks;
  std::size_t pos = kSignature.size();
  bool seen_idat = false;
  for (;;) {
    const std::size_t index = chunks.size();
    if (index >= limits.max_chunks) {
      return Error{Errc::too_large,
                   "PNG has more than " + std::to_string(limits.max_chunks) + " chunks"};
    }
    if (png.size() - pos < 12) {
      if (pos == png.size()) return Error{Errc::bad_request, "PNG ends without an IEND chunk"};
      return Error{Errc::bad_request, "PNG chunk " + std::to_string(index) + " at byte " +
                                          std::to_string(pos) + ": truncated chunk header"};
    }
    const std::uint32_t length = read_u32(png, pos);
    const std::string_view type = png.substr(pos + 4, 4);
    auto fail = [&](Errc code, std::string_view what) {
      return chunk_error(code, index, pos, type, what);
    };
    for (char c : type) {
      if (!is_letter(c)) return fail(Errc::bad_request, "invalid chunk type");
    }
    if (length > kMaxPngLength) return fail(Errc::bad_request, "chunk length exceeds 2^31-1");
    if (length > limits.max_chunk_bytes) {
      return fail(Errc::too_large, "chunk length " + std::to_string(length) +
                                       " exceeds the limit of " +
                                       std::to_string(limits.max_chunk_bytes) + " bytes");
    }
    if (png.size() - pos - 12 < length) return fail(Errc::bad_request, "truncated chunk");
    PngChunk c;
    c.index = index;
    c.offset = pos;
    c.type = type;
    c.data = png.substr(pos + 8, length);
    c.raw = png.substr(pos, std::size_t{length} + 12);
    const std::uint32_t stored_crc = read_u32(png, pos + 8 + length);
    if (crc32(png.substr(pos + 4, std::size_t{length} + 4)) != stored_crc) {
      return fail(Errc::bad_request, "CRC mismatch");
    }
    if (index == 0) {
      if (type != "IHDR") return fail(Errc::bad_request, "first chunk must be IHDR");
      if (length != 13) return fail(Errc::bad_request, "IHDR must be 13 bytes");
      if (read_u32(c.data, 0) == 0 || read_u32(c.data, 4) == 0 ||
          read_u32(c.data, 0) > kMaxPngLength || read_u32(c.data, 4) > kMaxPngLength) {
        return fail(Errc::bad_request, "invalid image dimensions");
      }
    } else if (type == "IHDR") {
      return fail(Errc::bad_request, "duplicate IHDR");
    }
    if (type == "IDAT") seen_idat = true;
    if (is_text_type(type)) {
      auto layout = split_text(c);
      if (!layout.ok()) return layout.error();
    }
    chunks.push_back(c);
    pos += std::size_t{length} + 12;
    if (type == "IEND") {
      if (length != 0) return fail(Errc::bad_request, "IEND must be empty");
      if (!seen_idat) return Error{Errc::bad_request, "PNG has no IDAT chunk"};
      break;
    }
  }
  return PngReader(std::move(chunks), limits);
}

std::string_view PngReader::text_keyword(const PngChunk& chunk) noexcept {
  if (!is_text_type(chunk.type)) return {};
  const std::size_t nul = chunk.data.find('\0');
  if (nul == std::string_view::npos) return {};
  return chunk.data.substr(0, nul);
}

Result<std::string> PngReader::text_of(const PngChunk& chunk) const {
  if (!is_text_type(chunk.type)) {
    return chunk_error(Errc::bad_request, chunk.index, chunk.offset, chunk.type,
                       "not a text chunk");
  }
  auto layout = split_text(chunk);
  if (!layout.ok()) return layout.error();
  if (!layout->compressed) {
    if (layout->body.size() > limits_.max_text_bytes) {
      return chunk_error(Errc::too_large, chunk.index, chunk.offset, chunk.type, "text too large");
    }
    return std::string(layout->body);
  }
  auto text = zlib_stream::inflate(layout->body, limits_.max_text_bytes);
  if (!text.ok()) {
    return chunk_error(text.error().code, chunk.index, chunk.offset, chunk.type,
                       text.error().message);
  }
  return std::move(text).value();
}

Result<std::optional<std::string>> PngReader::find_text(std::string_view keyword) const {
  for (const PngChunk& c : chunks_) {
    if (!keyword_equals(text_keyword(c), keyword)) continue;
    auto text = text_of(c);
    if (!text.ok()) return text.error();
    return std::optional<std::string>(std::move(text).value());
  }
  return std::optional<std::string>();
}

}  // namespace troupe::cards
