#include "chat/TokenCounter.h"

namespace troupe::chat {

namespace {
bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}
bool is_space(unsigned char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
}  // namespace

int EstimateTokenCounter::count(std::string_view text) const {
  int tokens = 0;
  std::size_t run = 0;
  for (unsigned char c : text) {
    if (is_word_byte(c)) {
      ++run;
      continue;
    }
    if (run) {
      tokens += static_cast<int>((run + 3) / 4);
      run = 0;
    }
    if (!is_space(c)) ++tokens;
  }
  if (run) tokens += static_cast<int>((run + 3) / 4);
  return tokens;
}

}  // namespace troupe::chat
