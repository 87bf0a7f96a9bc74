// Small cryptographic helpers (OpenSSL): random tokens and SHA-256 hex digests.
// Thread-safety: all functions are safe to call from any thread.
#pragma once

#include <string>
#include <string_view>

namespace troupe {

// A random URL-safe token with `bytes` bytes of entropy, prefixed (e.g. "trp_...").
std::string random_token(std::string_view prefix, std::size_t bytes = 24);
// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace troupe
