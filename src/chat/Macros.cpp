#include "chat/Macros.h"

#include <cctype>

namespace troupe::chat {

namespace {

bool iequals_at(std::string_view text, std::size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[pos + i])) !=
        std::tolower(static_cast<unsigned char>(word[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string expand_macros(std::string_view text, const MacroValues& v) {
  struct Macro {
    std::string_view pattern;
    std::string_view value;
  };
  const Macro macros[] = {
      {"{{char}}", v.char_name}, {"{{user}}", v.user_name}, {"{{original}}", v.original},
      {"<bot>", v.char_name},    {"<user>", v.user_name},
  };
  std::string out;
  out.reserve(text.size() + 16);
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == '{' || c == '<') {
      bool matched = false;
      for (const auto& m : macros) {
        if (m.pattern[0] == c && iequals_at(text, i, m.pattern)) {
          out += m.value;
          i += m.pattern.size();
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

}  // namespace troupe::chat
