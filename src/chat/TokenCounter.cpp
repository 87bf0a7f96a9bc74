#include "chat/TokenCounter.h"

#include <array>

namespace troupe::chat {

namespace {
// Byte classes: word bytes (ASCII letters and digits, every byte of a multi-byte UTF-8 sequence)
// make runs; white space separates them; anything else is a token of its own.
enum : unsigned char { kWord = 0, kSpace = 1, kOther = 2 };

constexpr std::array<unsigned char, 256> make_classes() {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    t[c] = word ? kWord : (space ? kSpace : kOther);
  }
  return t;
}
constexpr std::array<unsigned char, 256> kClasses = make_classes();
}  // namespace

int EstimateTokenCounter::count(std::string_view text) const {
  // A run of n word bytes costs ceil(n / 4); every other non-space byte costs one. Summed without
  // a branch per byte on its kind: a run's cost is paid when it ends.
  std::size_t tokens = 0;
  std::size_t run = 0;
  for (unsigned char c : text) {
    const unsigned char k = kClasses[c];
    if (k == kWord) {
      ++run;
      continue;
    }
    tokens += (run + 3) / 4 + (k == kOther);
    run = 0;
  }
  tokens += (run + 3) / 4;
  return static_cast<int>(tokens);
}

}  // namespace troupe::chat
