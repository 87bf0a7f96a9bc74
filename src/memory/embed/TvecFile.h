// TvecFile: a read-only, shared memory map of a .tvec word-vector file (see TvecFormat.h).
// open() validates everything before handing out views: magic, version, sizes and offsets,
// the checksum, sorted unique words and finite numbers. A bad file is an Error, never a crash.
// Thread-safety: immutable after open(); all const members may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/Result.h"
#include "memory/embed/TvecFormat.h"

namespace troupe::memory {

class TvecFile {
 public:
  static Result<std::unique_ptr<TvecFile>> open(const std::string& path);
  ~TvecFile();
  TvecFile(const TvecFile&) = delete;
  TvecFile& operator=(const TvecFile&) = delete;

  int dims() const { return static_cast<int>(header().dims); }
  std::size_t size() const { return header().count; }
  std::uint32_t vocab_total() const { return header().vocab_total; }
  float sif_a() const { return header().sif_a; }
  std::span<const float> principal_component() const { return {pc_, header().dims}; }

  // The entry for `word` (exact bytes), or nullptr. O(log n).
  const TvecEntry* find(std::string_view word) const;
  std::span<const TvecEntry> entries() const { return {entries_, header().count}; }
  std::string_view word(const TvecEntry& e) const { return {strings_ + e.str_offset, e.str_len}; }
  const float* vector(std::uint32_t row) const { return vectors_ + std::size_t(row) * header().dims; }

 private:
  TvecFile() = default;
  const TvecHeader& header() const { return *reinterpret_cast<const TvecHeader*>(base_); }
  Status validate(const std::string& path);

  const unsigned char* base_ = nullptr;
  std::size_t length_ = 0;
  const float* pc_ = nullptr;
  const TvecEntry* entries_ = nullptr;
  const char* strings_ = nullptr;
  const float* vectors_ = nullptr;
};

}  // namespace troupe::memory
