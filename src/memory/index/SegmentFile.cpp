#include "memory/index/SegmentFile.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "memory/index/Crc32c.h"

namespace troupe::memory {
namespace {

constexpr char kMagic[8] = {'T', 'R', 'P', 'S', 'E', 'G', '\0', '\1'};
constexpr std::size_t kMaxCount = std::size_t{1} << 32;
constexpr int kMaxDims = 65536;

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t kind;
  std::uint32_t dims;
  std::uint32_t name_len;
  std::uint64_t count;
  std::uint32_t payload_crc;
  std::uint32_t header_crc;  // over the whole header with this field zero
  char name[64];
  char pad[24];
};
static_assert(sizeof(Header) == SegmentFile::kHeaderBytes);

std::uint32_t header_crc(Header h) {
  h.header_crc = 0;
  return crc32c(&h, sizeof h);
}

// Process-wide registry: one mapping per (path, inode, size, mtime) while anyone holds it.
using Key = std::tuple<std::string, ino_t, off_t, std::int64_t>;
std::mutex g_mu;
std::map<Key, std::weak_ptr<const MappedSegment>> g_maps;

Error corrupt(const std::string& path, const char* why) {
  return make_error(Errc::unprocessable, "segment " + path + ": " + why);
}

}  // namespace

MappedSegment::MappedSegment(void* base, std::size_t len, IndexKind kind, int dims,
                             std::size_t count)
    : base_(base), len_(len), kind_(kind), dims_(dims), count_(count) {}
MappedSegment::~MappedSegment() { ::munmap(base_, len_); }
const VectorId* MappedSegment::ids() const noexcept {
  return reinterpret_cast<const VectorId*>(static_cast<const char*>(base_) + SegmentFile::kHeaderBytes);
}
const float* MappedSegment::rows() const noexcept {
  return reinterpret_cast<const float*>(static_cast<const char*>(base_) + SegmentFile::kHeaderBytes +
                                        count_ * sizeof(VectorId));
}

Status SegmentFile::write(const std::string& path, std::string_view embedder, int dims,
                          IndexKind kind, std::span<const VectorId> ids,
                          std::span<const float> rows) {
  if (dims <= 0 || dims > kMaxDims || embedder.size() > kMaxEmbedderName ||
      rows.size() != ids.size() * static_cast<std::size_t>(dims) || ids.size() > kMaxCount)
    return make_error(Errc::bad_request, "segment write: bad shape");
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kVersion;
  h.kind = static_cast<std::uint32_t>(kind);
  h.dims = static_cast<std::uint32_t>(dims);
  h.name_len = static_cast<std::uint32_t>(embedder.size());
  h.count = ids.size();
  std::memcpy(h.name, embedder.data(), embedder.size());
  h.payload_crc = crc32c(rows.data(), rows.size_bytes(), crc32c(ids.data(), ids.size_bytes()));
  h.header_crc = header_crc(h);

  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return make_error(Errc::internal, "segment write: cannot create " + tmp);
  auto put = [fd](const void* p, std::size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      ssize_t w = ::write(fd, c, n);
      if (w <= 0) return false;
      c += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  };
  bool ok = put(&h, sizeof h) && put(ids.data(), ids.size_bytes()) &&
            put(rows.data(), rows.size_bytes()) && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return make_error(Errc::internal, "segment write failed: " + path);
  }
  return {};
}

Result<std::shared_ptr<const MappedSegment>> SegmentFile::open(const std::string& path,
                                                               std::string_view embedder,
                                                               int dims) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(Errc::not_found, "segment missing: " + path);
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return corrupt(path, "not a regular file");
  }
  const Key key{path, st.st_ino, st.st_size,
                std::int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
  std::lock_guard lock(g_mu);
  if (auto it = g_maps.find(key); it != g_maps.end()) {
    if (auto live = it->second.lock()) {
      ::close(fd);
      if (live->dims() != dims) return corrupt(path, "wrong dimensions");
      // The embedder was verified when this mapping was made; re-check from its header.
      const auto* hh = reinterpret_cast<const Header*>(reinterpret_cast<const char*>(live->ids()) - kHeaderBytes);
      if (std::string_view(hh->name, hh->name_len) != embedder) return corrupt(path, "wrong embedder");
      return live;
    }
  }
  const auto len = static_cast<std::size_t>(st.st_size);
  if (len < kHeaderBytes) {
    ::close(fd);
    return corrupt(path, "truncated header");
  }
  void* base = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (base == MAP_FAILED) return corrupt(path, "mmap failed");
  auto fail = [&](const char* why) -> Error {
    ::munmap(base, len);
    return corrupt(path, why);
  };
  Header h;
  std::memcpy(&h, base, sizeof h);
  if (std::memcmp(h.magic, kMagic, 8) != 0) return fail("bad magic");
  if (header_crc(h) != h.header_crc) return fail("header checksum mismatch");
  if (h.version != kVersion) return fail("unsupported version");
  if (h.name_len > kMaxEmbedderName || std::string_view(h.name, h.name_len) != embedder)
    return fail("wrong embedder");
  if (h.dims != static_cast<std::uint32_t>(dims) || dims <= 0) return fail("wrong dimensions");
  if (h.kind < 1 || h.kind > 4) return fail("bad index kind");
  if (h.count > kMaxCount) return fail("bad count");
  const std::size_t payload = h.count * (sizeof(VectorId) + static_cast<std::size_t>(dims) * sizeof(float));
  if (len != kHeaderBytes + payload) return fail("size does not match header");
  const char* p = static_cast<const char*>(base) + kHeaderBytes;
  const std::size_t id_bytes = h.count * sizeof(VectorId);
  if (crc32c(p + id_bytes, payload - id_bytes, crc32c(p, id_bytes)) != h.payload_crc)
    return fail("payload checksum mismatch");
  ::madvise(base, len, MADV_WILLNEED);
  auto seg = std::make_shared<const MappedSegment>(base, len, static_cast<IndexKind>(h.kind), dims,
                                                   static_cast<std::size_t>(h.count));
  g_maps[key] = seg;
  for (auto it = g_maps.begin(); it != g_maps.end();)  // drop dead entries
    it = it->second.expired() ? g_maps.erase(it) : std::next(it);
  return seg;
}

}  // namespace troupe::memory
