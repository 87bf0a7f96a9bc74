// Base64: standard-alphabet (RFC 4648) encoding and a tolerant decoder for card text chunks.
// Thread-safety: stateless free functions; call from any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/Result.h"

namespace troupe::cards::base64 {

// Encodes with the standard alphabet and '=' padding, no line breaks.
std::string encode(std::string_view bytes);

// Decodes the standard alphabet. ASCII whitespace anywhere is ignored and padding is optional, but
// '=' may only appear at the end. Errors are Errc::bad_request naming the offending offset.
Result<std::string> decode(std::string_view text);

}  // namespace troupe::cards::base64
