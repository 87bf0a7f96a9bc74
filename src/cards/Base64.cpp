#include "cards/Base64.h"

#include <array>
#include <cstdint>

namespace troupe::cards::base64 {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kTable = make_table();

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

Error bad(std::string what) { return Error{Errc::bad_request, "invalid base64: " + what}; }

std::string hex_byte(unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string{'0', 'x', kHex[c >> 4], kHex[c & 15]};
}

}  // namespace

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto at = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = at(i) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    const std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

Result<std::string> decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  std::size_t quad = 0;     // symbols in the current group of four
  std::size_t padding = 0;  // '=' seen so far
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (is_space(c)) continue;
    if (c == '=') {
      if (quad < 2) return bad("misplaced '=' at offset " + std::to_string(i));
      if (++padding > 2 || quad + padding > 4)
        return bad("too much padding at offset " + std::to_string(i));
      continue;
    }
    if (padding > 0) return bad("data after padding at offset " + std::to_string(i));
    const int v = kTable[static_cast<unsigned char>(c)];
    if (v < 0) {
      return bad("unexpected character " + hex_byte(static_cast<unsigned char>(c)) + " at offset " +
                 std::to_string(i));
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    if (++quad == 4) {
      out.push_back(static_cast<char>((acc >> 16) & 0xFF));
      out.push_back(static_cast<char>((acc >> 8) & 0xFF));
      out.push_back(static_cast<char>(acc & 0xFF));
      acc = 0;
      quad = 0;
    }
  }
  if (padding > 0 && quad + padding != 4) return bad("padding does not complete the last group");
  if (quad == 1) return bad("truncated input (a lone trailing symbol)");
  if (quad == 2) {
    out.push_back(static_cast<char>((acc >> 4) & 0xFF));
  } else if (quad == 3) {
    out.push_back(static_cast<char>((acc >> 10) & 0xFF));
    out.push_back(static_cast<char>((acc >> 2) & 0xFF));
  }
  return out;
}

}  // namespace troupe::cards::base64
