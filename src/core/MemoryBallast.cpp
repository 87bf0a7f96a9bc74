#include "core/MemoryBallast.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace troupe {

MemoryBallast::~MemoryBallast() {
  std::lock_guard lock(mu_);
  release_locked();
}

void MemoryBallast::release_locked() {
  if (block_) ::munmap(block_, size_);
  block_ = nullptr;
  size_ = 0;
}

Status MemoryBallast::resize(std::uint64_t bytes) {
  if (bytes > kMaxBytes) {
    return make_error(Errc::too_large, "ballast larger than " + std::to_string(kMaxBytes) + " bytes");
  }
  std::lock_guard lock(mu_);
  release_locked();
  if (bytes == 0) return {};
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    return make_error(Errc::unavailable, std::string("cannot map the ballast: ") + std::strerror(errno));
  }
  // Touch every page so the block is resident, not just reserved.
  const long page = ::sysconf(_SC_PAGESIZE);
  auto* c = static_cast<unsigned char*>(p);
  for (std::uint64_t off = 0; off < bytes; off += static_cast<std::uint64_t>(page > 0 ? page : 4096)) c[off] = 1;
  block_ = p;
  size_ = bytes;
  return {};
}

std::uint64_t MemoryBallast::bytes() const {
  std::lock_guard lock(mu_);
  return size_;
}

}  // namespace troupe
