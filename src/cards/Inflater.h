// Inflater: zlib-stream compression helpers with a hard cap on the inflated size (PNG zTXt/iTXt
// text and the placeholder image's IDAT).
// Thread-safety: stateless free functions; call from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/Result.h"

namespace troupe::cards::zlib_stream {

// Inflates one complete zlib stream. Output larger than max_out is refused with Errc::too_large
// (decompression stops as soon as the cap is crossed); corrupt, truncated or trailing data is
// Errc::bad_request.
Result<std::string> inflate(std::string_view compressed, std::size_t max_out);

// Compresses into a zlib stream (default level).
std::string deflate(std::string_view raw);

}  // namespace troupe::cards::zlib_stream
