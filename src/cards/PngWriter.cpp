#include "cards/PngWriter.h"

#include "cards/Crc32.h"
#include "cards/Inflater.h"

namespace troupe::cards {

namespace {

void put_u32(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>((v >> 24) & 0xFF));
  out.push_back(static_cast<char>((v >> 16) & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
  out.push_back(static_cast<char>(v & 0xFF));
}

bool dropped(const PngChunk& c, const std::vector<std::string_view>& drop) {
  const std::string_view keyword = PngReader::text_keyword(c);
  if (keyword.empty()) return false;
  for (std::string_view d : drop) {
    if (PngReader::keyword_equals(keyword, d)) return true;
  }
  return false;
}

// FNV-1a: a stable, well-spread hash of the seed for the placeholder colour.
std::uint32_t fnv1a(std::string_view s) noexcept {
  std::uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

}  // namespace

void PngWriter::append_chunk(std::string& out, std::string_view type, std::string_view data) {
  put_u32(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t crc_from = out.size();
  out.append(type);
  out.append(data);
  put_u32(out, crc32(std::string_view(out).substr(crc_from)));
}

std::string PngWriter::rewrite(const PngReader& source, const std::vector<std::string_view>& drop,
                               const std::vector<PngTextEntry>& add) {
  std::string out(PngReader::kSignature);
  for (const PngChunk& c : source.chunks()) {
    if (c.type == "IEND") {
      for (const PngTextEntry& t : add) {
        std::string data = t.keyword;
        data.push_back('\0');
        data.append(t.text);
        append_chunk(out, "tEXt", data);
      }
    }
    if (!dropped(c, drop)) out.append(c.raw);
  }
  return out;
}

std::string PngWriter::placeholder(std::string_view seed, std::uint32_t size) {
  if (size == 0) size = 1;
  const std::uint32_t h = fnv1a(seed);
  // Keep the colour in a mid range so it is neither black nor white.
  const char rgb[3] = {static_cast<char>(64 + (h & 0x7F)),
                       static_cast<char>(64 + ((h >> 8) & 0x7F)),
                       static_cast<char>(64 + ((h >> 16) & 0x7F))};
  std::string row(1 + std::size_t{size} * 3, '\0');  // filter byte 0 (None), then pixels
  for (std::uint32_t x = 0; x < size; ++x) {
    row[1 + x * 3] = rgb[0];
    row[2 + x * 3] = rgb[1];
    row[3 + x * 3] = rgb[2];
  }
  std::string raw;
  raw.reserve(row.size() * size);
  for (std::uint32_t y = 0; y < size; ++y) raw.append(row);

  std::string ihdr;
  put_u32(ihdr, size);
  put_u32(ihdr, size);
  ihdr.append({8, 2, 0, 0, 0});  // bit depth 8, colour type RGB, deflate, filter 0, no interlace

  std::string out(PngReader::kSignature);
  append_chunk(out, "IHDR", ihdr);
  append_chunk(out, "IDAT", zlib_stream::deflate(raw));
  append_chunk(out, "IEND", {});
  return out;
}

}  // namespace troupe::cards
