#include "memory/embed/HashEmbedder.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>

namespace troupe::memory {
namespace {

bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '\'' ||
         c >= 0x80;
}

}  // namespace

HashEmbedder::HashEmbedder(int dims, std::string name) {
  assert(dims >= 1 && dims <= 65536);
  info_.dims = std::clamp(dims, 1, 65536);
  info_.name = name.empty() ? "hash-" + std::to_string(info_.dims) : std::move(name);
}

Status HashEmbedder::embed(std::span<const std::string_view> texts, std::span<float> out) {
  const auto dims = static_cast<std::size_t>(info_.dims);
  if (out.size() != texts.size() * dims)
    return make_error(Errc::internal, "embed: output size does not match texts x dims");
  std::fill(out.begin(), out.end(), 0.0f);
  for (std::size_t t = 0; t < texts.size(); ++t) {
    float* row = out.data() + t * dims;
    std::string_view s = texts[t];
    std::size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && !is_word_byte(static_cast<unsigned char>(s[i]))) ++i;
      if (i >= s.size()) break;
      std::uint64_t h = 1469598103934665603ull;  // FNV-1a over the lower-cased word
      while (i < s.size() && is_word_byte(static_cast<unsigned char>(s[i]))) {
        auto c = static_cast<unsigned char>(s[i++]);
        if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
        h = (h ^ c) * 1099511628211ull;
      }
      h ^= h >> 33;
      h *= 0xff51afd7ed558ccdull;
      h ^= h >> 33;
      row[h % dims] += (h >> 63) ? -1.0f : 1.0f;
    }
    double norm = 0;
    for (std::size_t d = 0; d < dims; ++d) norm += double(row[d]) * row[d];
    if (norm > 0) {
      auto inv = static_cast<float>(1.0 / std::sqrt(norm));
      for (std::size_t d = 0; d < dims; ++d) row[d] *= inv;
    }
  }
  return {};
}

}  // namespace troupe::memory
