#include "cards/Utf8.h"

namespace troupe::cards::utf8 {

namespace {
bool is_cont(unsigned char c) noexcept { return (c & 0xC0) == 0x80; }
}  // namespace

std::size_t sequence_length(std::string_view s, std::size_t i) noexcept {
  const std::size_t n = s.size();
  if (i >= n) return 0;
  const auto c0 = static_cast<unsigned char>(s[i]);
  if (c0 < 0x80) return 1;
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    return (i + 1 < n && is_cont(at(1))) ? 2 : 0;
  }
  if (c0 >= 0xE0 && c0 <= 0xEF) {
    if (i + 2 >= n) return 0;
    const unsigned char c1 = at(1);
    if (!is_cont(c1) || !is_cont(at(2))) return 0;
    if (c0 == 0xE0 && c1 < 0xA0) return 0;   // overlong
    if (c0 == 0xED && c1 >= 0xA0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c0 >= 0xF0 && c0 <= 0xF4) {
    if (i + 3 >= n) return 0;
    const unsigned char c1 = at(1);
    if (!is_cont(c1) || !is_cont(at(2)) || !is_cont(at(3))) return 0;
    if (c0 == 0xF0 && c1 < 0x90) return 0;   // overlong
    if (c0 == 0xF4 && c1 >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;  // continuation byte, 0xC0/0xC1 or 0xF5..0xFF
}

bool valid(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t len = sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

void append(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace troupe::cards::utf8
