// Utf8: strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, max U+10FFFF) and encoding.
// Thread-safety: stateless free functions; call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::cards::utf8 {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 if it is malformed or truncated.
std::size_t sequence_length(std::string_view s, std::size_t i) noexcept;

// True if the whole text is well-formed UTF-8.
bool valid(std::string_view s) noexcept;

// Appends the UTF-8 encoding of a Unicode scalar value (cp must not be a surrogate).
void append(std::string& out, std::uint32_t cp);

}  // namespace troupe::cards::utf8
