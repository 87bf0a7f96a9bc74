// Crc32: the CRC-32 used by PNG chunks and zlib (ISO 3309, reflected polynomial 0xEDB88320).
// Thread-safety: stateless free functions over a constant table; call from any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace troupe::cards {

// Continues a CRC: crc32_update(crc32_update(0, a), b) == crc32(a + b).
std::uint32_t crc32_update(std::uint32_t crc, std::string_view bytes) noexcept;

inline std::uint32_t crc32(std::string_view bytes) noexcept { return crc32_update(0, bytes); }

}  // namespace troupe::cards
