#include "memory/embed/Tokenizer.h"

#include <algorithm>

namespace troupe::memory {
namespace {

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word(char c) { return is_alnum(c) || static_cast<unsigned char>(c) >= 0x80; }

bool ends_with(std::string_view s, std::string_view suf) {
  return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}

// Emits one word (letters, digits, inner apostrophes), splitting off clitics.
void emit_word(std::string_view w, std::vector<std::string_view>& out) {
  while (!w.empty() && w.front() == '\'') w.remove_prefix(1);
  while (!w.empty() && w.back() == '\'') w.remove_suffix(1);
  if (w.empty()) return;
  if (w.size() > 3 && ends_with(w, "n't")) {
    out.push_back(w.substr(0, w.size() - 3));
    out.push_back(w.substr(w.size() - 3));
    return;
  }
  auto apos = w.rfind('\'');
  if (apos != std::string_view::npos && apos > 0) {
    std::string_view clitic = w.substr(apos);
    if (clitic == "'s" || clitic == "'re" || clitic == "'ve" || clitic == "'ll" || clitic == "'d" ||
        clitic == "'m") {
      emit_word(w.substr(0, apos), out);
      out.push_back(clitic);
      return;
    }
  }
  out.push_back(w);
}

}  // namespace

void Tokenizer::tokenize(std::string_view text, std::vector<std::string_view>& out) {
  out.clear();
  text = text.substr(0, std::min(text.size(), kMaxTextBytes));
  buf_.clear();
  buf_.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    // U+2019 RIGHT SINGLE QUOTATION MARK (E2 80 99) -> '
    if (static_cast<unsigned char>(c) == 0xE2 && i + 2 < text.size() &&
        static_cast<unsigned char>(text[i + 1]) == 0x80 && static_cast<unsigned char>(text[i + 2]) == 0x99) {
      c = '\'';
      i += 2;
    }
    buf_.push_back(c);
  }
  const std::string_view s(buf_);
  std::size_t i = 0;
  while (i < s.size()) {
    if (!is_word(s[i]) && s[i] != '\'') { ++i; continue; }
    std::size_t start = i;
    while (i < s.size()) {
      char c = s[i];
      if (is_word(c) || c == '\'') { ++i; continue; }
      // 3.5 and 1,000: a separator between two digits belongs to the number; e-mail: a hyphen
      // between two word characters belongs to the compound.
      const bool inner = i > start && i + 1 < s.size();
      if (inner && (c == '.' || c == ',') && is_digit(s[i - 1]) && is_digit(s[i + 1])) {
        ++i;
        continue;
      }
      if (inner && c == '-' && is_word(s[i - 1]) && is_word(s[i + 1])) {
        ++i;
        continue;
      }
      break;
    }
    emit_word(s.substr(start, i - start), out);
  }
}

}  // namespace troupe::memory
