// SegmentFile: one space's vectors and ids on disk, memory-mapped read-only. Layout: a 128-byte
// header (magic "TRPSEG\0\1", version, index kind, dims, count, embedder name, CRC-32C of the
// header and of the payload), then count ids (u64), then count * dims float32 rows. Files are
// written to a temporary name and renamed. open() verifies everything (size, magic, version,
// embedder, dims, both checksums) and maps a file at most once per process (shared by all users
// while any holds it). HNSW graphs and IVF lists are not stored; they are rebuilt from the rows.
// Thread-safety: write() and open() may be called from any thread; a MappedSegment is immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/Result.h"
#include "memory/index/VectorIndex.h"

namespace troupe::memory {

class MappedSegment {
 public:
  MappedSegment(void* base, std::size_t len, IndexKind kind, int dims, std::size_t count);
  ~MappedSegment();
  MappedSegment(const MappedSegment&) = delete;
  MappedSegment& operator=(const MappedSegment&) = delete;

  IndexKind kind() const noexcept { return kind_; }
  int dims() const noexcept { return dims_; }
  std::size_t count() const noexcept { return count_; }
  const VectorId* ids() const noexcept;
  const float* rows() const noexcept;
  std::size_t file_bytes() const noexcept { return len_; }

 private:
  void* base_;
  std::size_t len_;
  IndexKind kind_;
  int dims_;
  std::size_t count_;
};

class SegmentFile {
 public:
  static constexpr std::uint32_t kVersion = 1;
  static constexpr std::size_t kHeaderBytes = 128;
  static constexpr std::size_t kMaxEmbedderName = 63;

  // Writes atomically (temp file + fsync + rename). rows.size() == ids.size() * dims.
  static Status write(const std::string& path, std::string_view embedder, int dims, IndexKind kind,
                      std::span<const VectorId> ids, std::span<const float> rows);
  // Maps and verifies; Errc::not_found when missing, Errc::unprocessable when corrupt or stale.
  static Result<std::shared_ptr<const MappedSegment>> open(const std::string& path,
                                                           std::string_view embedder, int dims);
};

}  // namespace troupe::memory
