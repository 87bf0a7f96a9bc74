// Macro substitution for card text: {{char}}, {{user}}, {{original}} (case-insensitive) and the
// legacy <BOT>/<USER> placeholders of V1 cards.
// Thread-safety: pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

namespace troupe::chat {

struct MacroValues {
  std::string_view char_name;
  std::string_view user_name;
  std::string_view original;  // what {{original}} expands to (the default prompt it replaces)
};

std::string expand_macros(std::string_view text, const MacroValues& v);

}  // namespace troupe::chat
