// TvecFormat: the on-disk layout of a word-vector file (".tvec"), shared by TvecWriter and
// TvecFile. Little-endian, every section 8-byte aligned:
//   TvecHeader (128 bytes)
//   principal component: dims x float32 (the common direction SIF removes from sentence vectors)
//   entries:   count x TvecEntry, sorted by word bytes (binary search lookup)
//   strings:   the words' UTF-8 bytes, concatenated
//   vectors:   count x dims x float32, row r belongs to the entry whose `row` is r
// The checksum covers the whole file, the header included with its checksum field read as zero.
// Thread-safety: plain data and a pure function.
#pragma once

#include <cstddef>
#include <cstdint>

namespace troupe::memory {

inline constexpr char kTvecMagic[8] = {'T', 'R', 'O', 'U', 'P', 'E', 'V', '1'};
inline constexpr std::uint32_t kTvecVersion = 1;
inline constexpr std::uint32_t kTvecMaxDims = 4096;
inline constexpr std::uint32_t kTvecMaxWords = 4'000'000;
inline constexpr std::uint32_t kTvecMaxWordBytes = 255;

struct TvecHeader {
  char magic[8];
  std::uint32_t version;
  std::uint32_t dims;
  std::uint32_t count;        // words stored
  std::uint32_t vocab_total;  // words in the source vocabulary (normalises the Zipf estimate)
  float sif_a;                // SIF smoothing constant a in a / (a + p(w))
  std::uint32_t flags;        // 0; reserved
  std::uint64_t file_size;
  std::uint64_t pc_offset;
  std::uint64_t entries_offset;
  std::uint64_t strings_offset;
  std::uint64_t strings_size;
  std::uint64_t vectors_offset;
  std::uint64_t checksum;     // tvec_file_checksum of the file
  std::uint64_t reserved[5];  // zero
};
static_assert(sizeof(TvecHeader) == 128);

struct TvecEntry {
  std::uint32_t str_offset;  // into the strings section
  std::uint32_t str_len;     // 1..kTvecMaxWordBytes
  std::uint32_t rank;        // 1-based frequency rank in the source vocabulary
  std::uint32_t row;         // vector row
};
static_assert(sizeof(TvecEntry) == 16);

// 64-bit checksum (8 bytes per step, multiply-rotate mixing); detects truncation and flipped bits.
std::uint64_t tvec_checksum(const unsigned char* data, std::size_t n) noexcept;
// The file's checksum: header (checksum field as zero) and body, `n` >= sizeof(TvecHeader).
std::uint64_t tvec_file_checksum(const unsigned char* file, std::size_t n) noexcept;

// SIF weight a / (a + p) with p = 1 / (rank * H(vocab_total)), the Zipf estimate of a word's
// probability from its frequency rank.
float sif_weight(std::uint32_t rank, std::uint32_t vocab_total, float a) noexcept;

}  // namespace troupe::memory
