// Pending (a durable request on its way through the writer and back), Msg, and Inbox: another
// thread's way into an I/O thread. Thread-safety: Inbox::post() and wake() from any thread; fd()
// and take() by the owning I/O thread only. A Pending has one owner at a time.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace troupe_turn_floor {

struct Chat;

// A durable request on its way through the writer and back to the I/O thread that owns `fd`.
struct Pending {
  int thread = 0, fd = -1;
  std::uint64_t conn_id = 0;
  std::int64_t queued_ns = 0;
  std::string record;    // appended to the log; durable before anything below leaves
  std::string response;  // the complete HTTP answer
  // A turn only: its events, framed for SSE; offsets[i] is where seq first_seq + i starts.
  Chat* chat = nullptr;
  std::shared_ptr<const std::string> events;
  std::vector<std::uint32_t> offsets;
  std::int64_t first_seq = 0, last_seq = 0;
};

struct Msg {
  enum class Kind { adopt, done, deliver } kind;
  int fd;
  std::uint64_t conn_id = 0;
  std::unique_ptr<Pending> pending;          // done
  std::shared_ptr<const std::string> bytes;  // deliver
};

// Another thread's way into an I/O thread; the eventfd is written only when the queue was empty.
class Inbox {
 public:
  Inbox() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~Inbox() { close(fd_); }
  int fd() const { return fd_; }
  void post(Msg m) {
    std::unique_lock lock(mu_);
    const bool ring = queue_.empty();
    queue_.push_back(std::move(m));
    lock.unlock();
    if (ring) wake();
  }
  void take(std::vector<Msg>& out) {  // out is empty
    std::uint64_t v;
    [[maybe_unused]] const ssize_t got = read(fd_, &v, sizeof v);  // EAGAIN: nothing to clear
    std::lock_guard lock(mu_);
    out.swap(queue_);
  }
  void wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t put = write(fd_, &one, sizeof one);  // cannot overflow
  }

 private:
  const int fd_;
  std::mutex mu_;
  std::vector<Msg> queue_;
};

}  // namespace troupe_turn_floor
