#include "Writer.h"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace troupe_turn_floor {

void Writer::run() {
  std::vector<std::unique_ptr<Pending>> batch;
  std::vector<iovec> iov;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      batch.swap(queue_);
    }
    const std::int64_t t0 = mono_ns();
    iov.clear();
    for (auto& p : batch) iov.push_back(iovec{p->record.data(), p->record.size()});
    write_all(iov);
    if (sync_ && fdatasync(fd_) != 0) die("fdatasync");
    const std::int64_t t1 = mono_ns();
    s_.group.observe(t1 - t0);
    reserved_.fetch_sub(static_cast<long>(batch.size()));
    for (auto& p : batch) {  // an inbox rings only when its thread has taken all before
      s_.wait.observe(t1 - p->queued_ns);
      Inbox* to = s_.inboxes[static_cast<std::size_t>(p->thread)];
      to->post(Msg{Msg::Kind::done, p->fd, p->conn_id, std::move(p), nullptr});
    }
  }
}

[[noreturn]] void Writer::die(const char* what) {
  std::fprintf(stderr, "turn_floor: log %s failed: %s\n", what, std::strerror(errno));
  std::_Exit(1);
}

// One writev per IOV_MAX records (one in practice); a short write goes on where it stopped.
void Writer::write_all(std::vector<iovec>& iov) {
  for (std::size_t first = 0; first < iov.size();) {
    ssize_t w = writev(fd_, iov.data() + first,
                       static_cast<int>(std::min<std::size_t>(iov.size() - first, IOV_MAX)));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) die("write");
    while (first < iov.size() && static_cast<std::size_t>(w) >= iov[first].iov_len)
      w -= iov[first++].iov_len;
    if (first < iov.size()) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + w;
      iov[first].iov_len -= static_cast<std::size_t>(w);
    }
  }
}

}  // namespace troupe_turn_floor
