#include "memory/embed/TvecFile.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <cmath>
#include <cstring>
#include <vector>

namespace troupe::memory {
namespace {

Error bad(const std::string& path, std::string_view what) {
  return make_error(Errc::unprocessable, "word-vector file " + path + ": " + std::string(what));
}

// [off, off + len) lies inside a file of `size` bytes, 4-byte aligned, without overflow.
bool section_ok(std::uint64_t off, std::uint64_t len, std::uint64_t size) {
  return off % 4 == 0 && off >= sizeof(TvecHeader) && off <= size && len <= size - off;
}

}  // namespace

TvecFile::~TvecFile() {
  if (base_) ::munmap(const_cast<unsigned char*>(base_), length_);
}

Result<std::unique_ptr<TvecFile>> TvecFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(Errc::not_found, "cannot open word-vector file " + path + ": " +
                                                     std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return make_error(Errc::internal, "cannot stat " + path + ": " + std::strerror(e));
  }
  if (st.st_size < static_cast<off_t>(sizeof(TvecHeader))) {
    ::close(fd);
    return bad(path, "too short for a header (truncated?)");
  }
  auto len = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  int e = errno;
  ::close(fd);
  if (p == MAP_FAILED) return make_error(Errc::internal, "cannot map " + path + ": " + std::strerror(e));
  std::unique_ptr<TvecFile> f(new TvecFile());
  f->base_ = static_cast<const unsigned char*>(p);
  f->length_ = len;
  if (auto s = f->validate(path); !s.ok()) return s.error();
  return f;
}

Status TvecFile::validate(const std::string& path) {
  const TvecHeader& h = header();
  if (std::memcmp(h.magic, kTvecMagic, sizeof(kTvecMagic)) != 0) return bad(path, "not a .tvec file");
  if (h.version != kTvecVersion)
    return bad(path, "unsupported version " + std::to_string(h.version) + " (expected " +
                         std::to_string(kTvecVersion) + ")");
  if (h.dims < 1 || h.dims > kTvecMaxDims) return bad(path, "dimensions out of range");
  if (h.count < 1 || h.count > kTvecMaxWords) return bad(path, "word count out of range");
  if (h.file_size != length_)
    return bad(path, "size " + std::to_string(length_) + " differs from the header's " +
                         std::to_string(h.file_size) + " (truncated or appended)");
  if (!(h.sif_a > 0 && h.sif_a < 1) || h.vocab_total < h.count) return bad(path, "bad SIF parameters");
  const std::uint64_t dims = h.dims, count = h.count;
  if (!section_ok(h.pc_offset, dims * 4, length_) ||
      !section_ok(h.entries_offset, count * sizeof(TvecEntry), length_) ||
      !section_ok(h.strings_offset, h.strings_size, length_) ||
      !section_ok(h.vectors_offset, count * dims * 4, length_))
    return bad(path, "section outside the file");
  if (h.flags != 0 || std::any_of(std::begin(h.reserved), std::end(h.reserved), [](auto r) { return r != 0; }))
    return bad(path, "unknown flags or reserved fields set");
  if (tvec_file_checksum(base_, length_) != h.checksum)
    return bad(path, "checksum mismatch (corrupt file)");

  pc_ = reinterpret_cast<const float*>(base_ + h.pc_offset);
  entries_ = reinterpret_cast<const TvecEntry*>(base_ + h.entries_offset);
  strings_ = reinterpret_cast<const char*>(base_ + h.strings_offset);
  vectors_ = reinterpret_cast<const float*>(base_ + h.vectors_offset);

  // A writer bug can produce a file whose checksum matches; check the structure too.
  std::vector<bool> row_seen(count, false);
  std::string_view prev;
  for (std::uint64_t i = 0; i < count; ++i) {
    const TvecEntry& e = entries_[i];
    if (e.str_len < 1 || e.str_len > kTvecMaxWordBytes ||
        std::uint64_t(e.str_offset) + e.str_len > h.strings_size)
      return bad(path, "word " + std::to_string(i) + " outside the string table");
    if (e.row >= count || row_seen[e.row]) return bad(path, "bad vector row in entry " + std::to_string(i));
    row_seen[e.row] = true;
    if (e.rank < 1 || e.rank > h.vocab_total) return bad(path, "bad frequency rank");
    std::string_view w = word(e);
    if (i > 0 && !(prev < w)) return bad(path, "words not sorted or not unique");
    prev = w;
  }
  for (std::uint64_t i = 0; i < count * dims; ++i)
    if (!std::isfinite(vectors_[i])) return bad(path, "non-finite vector value");
  double pc_norm = 0;
  for (std::uint64_t i = 0; i < dims; ++i) {
    if (!std::isfinite(pc_[i])) return bad(path, "non-finite principal component");
    pc_norm += double(pc_[i]) * pc_[i];
  }
  if (pc_norm > 1.01) return bad(path, "principal component is not unit length");
  return {};
}

const TvecEntry* TvecFile::find(std::string_view w) const {
  std::size_t lo = 0, hi = header().count;
  while (lo < hi) {
    std::size_t mid = lo + (hi - lo) / 2;
    int c = word(entries_[mid]).compare(w);
    if (c == 0) return &entries_[mid];
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  return nullptr;
}

}  // namespace troupe::memory
