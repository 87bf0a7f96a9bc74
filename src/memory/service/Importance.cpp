#include "memory/service/Importance.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace troupe::memory {

namespace {

constexpr std::array<std::string_view, 14> kFirstPerson = {
    " i am ", " i'm ", " my ", " i have ", " i've ", " i live ", " i work ",
    " i like ", " i love ", " i hate ", " i was ", " remember ", " i never ", " i always "};

}  // namespace

double importance_of(std::string_view text) {
  if (text.empty()) return 0;
  std::string lower = " ";
  lower.reserve(text.size() + 2);
  int words = 0, digits = 0, names = 0;
  bool in_word = false, sentence_start = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool alpha = std::isalnum(c) || c == '\'' || c >= 0x80;
    if (alpha && !in_word) {
      ++words;
      if (std::isupper(c) && !sentence_start) ++names;
      sentence_start = false;
    }
    if (std::isdigit(c)) ++digits;
    if (c == '.' || c == '!' || c == '?' || c == '"' || c == '*' || c == '\n') sentence_start = true;
    in_word = alpha;
    lower += std::isalpha(c) || c == '\'' ? static_cast<char>(std::tolower(c)) : ' ';
  }
  lower += ' ';
  double s = 0.1 + 0.3 * std::min(1.0, words / 30.0);
  if (digits > 0) s += 0.15;
  s += 0.2 * std::min(1.0, names / 2.0);
  for (auto p : kFirstPerson) {
    if (lower.find(p) != std::string::npos) {
      s += 0.25;
      break;
    }
  }
  if (text.find('?') != std::string_view::npos) s -= 0.1;
  if (words < 3) s -= 0.05;
  return std::clamp(s, 0.0, 1.0);
}

}  // namespace troupe::memory
