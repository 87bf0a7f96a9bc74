// The least work a server can do for Troupe's chat turn on this machine: a reference server that
// speaks just enough of Troupe's HTTP/SSE protocol for troupe_loadgen's chat-turn load and does,
// per turn, only what no implementation can skip: parse the request, append one record holding the
// user's message and the complete reply (simulated, produced at once) to a log, make it durable in
// a group commit, answer 202, and stream the turn's events to the chat's subscribers.
// docs/BENCHMARKS.md runs it beside `troupe serve` (bench/compare_turns.sh takes either binary), so
// the real server's latency and CPU per turn can be read against this floor from the same session.
//
// Usage: troupe_turn_floor [serve] --listen 127.0.0.1:PORT --data DIR [--set KEY=VALUE]...
//                          [--threads N] [--sync fdatasync|none]
//   --listen      loopback only; port 0 picks a free port (the one chosen is printed)
//   --data DIR    where the log (turn_floor.log) is appended; created if missing
//   --set K=V     llm.sim_reply_tokens (1..4096, default 64) is used; every other key is ignored,
//                 so the real server's command line works unchanged
//   --threads N   I/O threads (default 2, 1..64)
//   --sync MODE   fdatasync (default) or none (the write alone: what durability costs)
// Prints "listening on http://127.0.0.1:PORT" and "admin token: trp_..." on stdout; SIGTERM or
// SIGINT stops it (exit 0). Routes: POST /api/characters, POST /api/chats, POST
// /api/chats/{id}/messages, GET /api/chats/{id}/events (SSE), GET /healthz, GET /metrics (the
// group-commit histograms under the real server's names, so the load generator reports them).
//
// Threads and ownership:
//   - I/O threads, each with its own epoll. A connection belongs to the thread that adopted it
//     (thread 0 accepts and deals connections out round-robin); only that thread touches it. Other
//     threads reach it through the owner's Inbox (a mutex-protected queue and an eventfd), naming
//     it by (fd, connection id), so a connection closed meanwhile is never reached.
//   - One writer thread owns the log: it takes every record queued since its last commit, writes
//     them with one writev, calls fdatasync, and posts each completion to the Inbox of the thread
//     owning the requesting connection. That thread sends the answer and, for a turn, publishes
//     the events: to its own subscribers at once, to other threads' subscribers through their
//     Inbox, posted under the chat's mutex so that every subscriber gets a chat's turns in order.
//     Each subscriber gets a turn's events as one buffer (one send when the socket takes it).
//   - A Chat is shared: its mutex guards its turn state, retained events and subscribers. Chats
//     live until exit; lookups go through an array of atomic pointers.
// Limits: HTTP/1.1 with Content-Length bodies only; requests pipelined behind a durable one wait
// for its answer; request strings are checked as JSON, not as UTF-8; only a chat's last turn is
// kept for replay (an older after_seq gets a "resync" event), within a global byte budget; no
// WebSocket. A failed write or fdatasync ends the process (exit 1): nothing is acknowledged that
// is not durable. Bounds: connections, chats, characters, subscribers per chat, queued records,
// unsent bytes per connection (a subscriber further behind is closed). Linux only.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "Common.h"
#include "Inbox.h"
#include "IoThread.h"
#include "Shared.h"
#include "Text.h"
#include "Writer.h"

namespace troupe_turn_floor {

namespace {

int usage(const std::string& why) {
  std::fprintf(
      stderr,
      "turn_floor: %s\nusage: troupe_turn_floor [serve] --listen 127.0.0.1:PORT --data DIR "
      "[--set KEY=VALUE]... [--threads N] [--sync fdatasync|none]\n",
      why.c_str());
  return 2;
}

}  // namespace
}  // namespace troupe_turn_floor

using namespace troupe_turn_floor;  // main() alone stands outside the namespace

int main(int argc, char** argv) {
  std::string listen_at = "127.0.0.1:8080", data;
  std::int64_t threads = 2, tokens = 64, port = -1;
  bool sync = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "serve" && i == 1) continue;
    if (i + 1 >= argc ||
        (a != "--listen" && a != "--data" && a != "--set" && a != "--threads" && a != "--sync"))
      return usage("unknown option or missing value: " + std::string(a));
    const std::string v = argv[++i];
    if (a == "--listen") listen_at = v;
    if (a == "--data") data = v;
    if (a == "--threads" && (!parse_int(v, threads) || threads < 1 || threads > 64))
      return usage("--threads must be 1..64");
    if (a == "--sync" && v != "fdatasync" && v != "none")
      return usage("--sync must be fdatasync or none");
    if (a == "--sync") sync = v == "fdatasync";
    if (a == "--set" && v.find('=') == std::string::npos) return usage("--set needs KEY=VALUE");
    if (a == "--set" && v.starts_with("llm.sim_reply_tokens=") &&
        (!parse_int(v.substr(21), tokens) || tokens < 1 || tokens > 4096))
      return usage("llm.sim_reply_tokens must be 1..4096");
  }
  const std::size_t colon = listen_at.rfind(':');
  if (colon == std::string::npos || listen_at.substr(0, colon) != "127.0.0.1")
    return usage("--listen must be 127.0.0.1:PORT (loopback only)");
  if (!parse_int(listen_at.substr(colon + 1), port) || port < 0 || port > 65535)
    return usage("bad port in --listen");
  if (data.empty()) return usage("--data DIR is required");

  rlimit lim{};  // a descriptor per connection, and a few more
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < rlim_t{kMaxConnections + 64}) {
    lim.rlim_cur = std::min(lim.rlim_max, rlim_t{kMaxConnections + 64});
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  const std::string log_path = data + "/turn_floor.log";
  if (mkdir(data.c_str(), 0700) != 0 && errno != EEXIST) return std::perror(data.c_str()), 1;
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const int dir_fd = open(data.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (log_fd < 0 || dir_fd < 0 || fsync(dir_fd) != 0)
    return std::perror(log_path.c_str()), 1;  // the name too
  close(dir_fd);

  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (lfd < 0 || bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(lfd, 4096) != 0 || getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return std::perror(listen_at.c_str()), 1;

  std::array<unsigned char, 16> raw{};
  if (getrandom(raw.data(), raw.size(), 0) != static_cast<ssize_t>(raw.size()))
    return std::perror("getrandom"), 1;
  std::string token = "trp_";
  for (unsigned char b : raw) add(token, "0123456789abcdef"[b >> 4], "0123456789abcdef"[b & 15]);

  // Every thread inherits the blocked signals; main() alone waits for them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  auto shared = std::make_unique<Shared>();
  shared->tokens = static_cast<int>(tokens);
  shared->auth = "Bearer " + token;
  for (const char* w : kWords) shared->words.push_back(json_escape(w));
  Writer writer(*shared, log_fd, sync);
  std::vector<std::unique_ptr<IoThread>> io;
  for (int t = 0; t < threads; ++t) {
    io.push_back(std::make_unique<IoThread>(*shared, writer, t, t == 0 ? lfd : -1));
    shared->inboxes.push_back(&io.back()->inbox);
  }
  std::vector<std::thread> running;
  running.emplace_back([&] { writer.run(); });
  for (auto& t : io) running.emplace_back([&t] { t->run(); });
  std::printf("listening on http://127.0.0.1:%u\nadmin token: %s\n", ntohs(addr.sin_port),
              token.c_str());
  std::printf("turn_floor: %d I/O thread(s), %d-token replies, log %s (%s)\n",
              static_cast<int>(threads), shared->tokens, log_path.c_str(),
              sync ? "fdatasync" : "no sync");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&sigs, &sig);
  shared->stop.store(true);
  writer.stop();
  for (Inbox* in : shared->inboxes) in->wake();
  for (auto& t : running) t.join();
  io.clear();
  for (std::int64_t id = 1; id <= std::min(shared->chat_count.load(), kMaxChats); ++id)
    delete shared->chat(id);
  close(lfd);
  close(log_fd);
  return 0;
}
