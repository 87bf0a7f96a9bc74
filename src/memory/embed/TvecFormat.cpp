#include "memory/embed/TvecFormat.h"

#include <cmath>
#include <cstring>

namespace troupe::memory {
namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
  v *= 0x9e3779b97f4a7c15ull;
  v = (v << 31) | (v >> 33);
  h ^= v;
  h = (h << 27) | (h >> 37);
  return h * 0xff51afd7ed558ccdull + 0x52dce729ull;
}

}  // namespace

std::uint64_t tvec_checksum(const unsigned char* data, std::size_t n) noexcept {
  std::uint64_t h = 0x74726f7570652121ull ^ n;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, data + i, 8);
    h = mix(h, v);
  }
  std::uint64_t tail = 0;
  for (std::size_t k = 0; i < n; ++i, ++k) tail |= std::uint64_t(data[i]) << (8 * k);
  h = mix(h, tail);
  h ^= h >> 29;
  return h;
}

std::uint64_t tvec_file_checksum(const unsigned char* file, std::size_t n) noexcept {
  TvecHeader h;
  std::memcpy(&h, file, sizeof(h));
  h.checksum = 0;
  std::uint64_t head = tvec_checksum(reinterpret_cast<const unsigned char*>(&h), sizeof(h));
  return mix(head, tvec_checksum(file + sizeof(h), n - sizeof(h)));
}

float sif_weight(std::uint32_t rank, std::uint32_t vocab_total, float a) noexcept {
  double v = vocab_total > 1 ? vocab_total : 2;
  double harmonic = std::log(v) + 0.5772156649 + 1.0 / (2 * v);
  double p = 1.0 / (double(rank < 1 ? 1 : rank) * harmonic);
  return static_cast<float>(a / (a + p));
}

}  // namespace troupe::memory
