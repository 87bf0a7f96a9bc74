// StringList: a list of strings stored as a JSON array of strings in a TEXT column
// (e.g. ["a","b \"c\""]). Bytes >= 0x20 other than '"' and '\\' are written as they are, so any
// byte string (even invalid UTF-8) round-trips; control bytes become \u00XX.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::store::sqlite {

std::string encode_string_list(const std::vector<std::string>& items);
// Accepts any JSON array of strings (standard escapes, \uXXXX with surrogate pairs);
// nullopt on anything else.
std::optional<std::vector<std::string>> decode_string_list(std::string_view text);

}  // namespace troupe::store::sqlite
