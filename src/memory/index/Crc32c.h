// Crc32c: CRC-32C (Castagnoli) checksum for segment files; SSE4.2 instruction when the CPU has
// it, table fallback otherwise (same result).
// Thread-safety: pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace troupe::memory {

std::uint32_t crc32c(const void* data, std::size_t n, std::uint32_t crc = 0) noexcept;
std::uint32_t crc32c_portable(const void* data, std::size_t n, std::uint32_t crc = 0) noexcept;

}  // namespace troupe::memory
