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
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

constexpr std::size_t kMaxHeader = 16 * 1024;
constexpr std::size_t kMaxBody = 64 * 1024;
constexpr int kMaxConnections = 10'000;
constexpr std::int64_t kMaxChats = 1 << 20, kMaxCharacters = 1 << 20;
constexpr std::size_t kMaxSubscribers = 64;      // per chat
constexpr long kMaxQueued = 65'536;              // records waiting for their commit
constexpr std::size_t kMaxOutput = 4u << 20;     // unsent bytes per connection
constexpr std::size_t kHeldBudget = 256u << 20;  // retained events, all chats together
constexpr std::int64_t kKeepAliveMs = 15'000;

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using Null = std::optional<std::int64_t>;  // a JSON number or null

// Appends each part: text (and chars) as it is, integers in decimal, a Null as a number or "null".
template <class... Ts>
void add(std::string& o, const Ts&... parts) {
  auto one = [&o](const auto& x) {
    using T = std::decay_t<decltype(x)>;
    if constexpr (std::is_same_v<T, Null>) {
      if (!x) return void(o += "null");
      char b[24];
      o.append(b, std::to_chars(b, b + sizeof b, *x).ptr);
    } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, char>) {
      char b[24];
      o.append(b, std::to_chars(b, b + sizeof b, x).ptr);
    } else {
      o += x;
    }
  };
  (one(parts), ...);
}

bool parse_int(std::string_view s, std::int64_t& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string json_escape(std::string_view s) {
  std::string o;
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') {
      o += '\\';
      o += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(ch));
      o += b;
    } else {
      o += ch;
    }
  }
  return o;
}

// The simulated reply's words (raw text, escaped once at start): token i of generation g is word
// (7g + i) mod 24, so replies differ from turn to turn.
constexpr const char* kWords[] = {
    "\"Nobody", " here",   " talks",    " about",   " the",  " lantern", ",\"",   " the",
    " bard",    " says",   ", leaning", " closer.", "\n\n",  "*She",     " taps", " the",
    " table",   " twice*", " \"Ask",    " again",   " when", " the",     " rain", " stops.\""};

// ---------------------------------------------------------------------------------------------
// Request bodies: one JSON object, checked whole; its top-level members are kept as raw text.
// String values stay escaped, so they are copied into answers, events and the log as they came.

class JsonObject {
 public:
  bool parse(std::string_view s) {
    s_ = s;
    i_ = 0;
    ws();
    return at('{') && value(0, true) && (ws(), i_ == s_.size());
  }
  const std::string_view* str(std::string_view key) const {
    for (const auto& m : members_)
      if (m.key == key && m.is_string) return &m.value;
    return nullptr;
  }
  bool integer(std::string_view key, std::int64_t& out) const {
    for (const auto& m : members_)
      if (m.key == key && !m.is_string) return parse_int(m.value, out);
    return false;
  }

 private:
  struct Member {
    std::string_view key, value;
    bool is_string;
  };
  bool more() const { return i_ < s_.size(); }
  bool at(char c) const { return more() && s_[i_] == c; }
  bool digit() const { return more() && s_[i_] >= '0' && s_[i_] <= '9'; }
  void digits() {
    while (digit()) ++i_;
  }
  void ws() {
    while (more() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) ++i_;
  }
  bool string(std::string_view& raw) {  // at the opening quote; raw: the text between the quotes
    const std::size_t start = ++i_;
    for (; more(); ++i_) {
      const auto ch = static_cast<unsigned char>(s_[i_]);
      if (ch == '"') return raw = s_.substr(start, i_++ - start), true;
      if (ch < 0x20) return false;
      if (ch != '\\') continue;
      if (++i_ >= s_.size()) return false;
      if (s_[i_] == 'u') {
        for (int k = 0; k < 4; ++k)
          if (++i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_]))) return false;
      } else if (std::string_view("\"\\/bfnrt").find(s_[i_]) == std::string_view::npos) {
        return false;
      }
    }
    return false;
  }
  bool number() {
    if (at('-')) ++i_;
    if (!digit()) return false;
    if (at('0'))
      ++i_;
    else
      digits();
    if (at('.') && (++i_, !digit())) return false;
    digits();
    if (at('e') || at('E')) {
      ++i_;
      if (at('+') || at('-')) ++i_;
      if (!digit()) return false;
      digits();
    }
    return true;
  }
  // Any value; `top`: the body itself, which must be an object whose members are recorded.
  bool value(int depth, bool top = false) {
    ws();
    std::string_view raw;
    if (depth > 32 || !more()) return false;
    if (at('"')) return string(raw);
    if (!at('{') && !at('[')) {
      for (std::string_view lit : {"true", "false", "null"})
        if (s_.substr(i_, lit.size()) == lit) return i_ += lit.size(), true;
      return number();
    }
    const bool object = at('{');
    const char close = object ? '}' : ']';
    ++i_;
    ws();
    if (at(close)) return ++i_, true;
    for (;;) {
      std::string_view key;
      if (object) {
        ws();
        if (!at('"') || !string(key)) return false;
        ws();
        if (!at(':')) return false;
        ++i_;
      }
      ws();
      const std::size_t start = i_;
      const bool is_string = at('"');
      if (!value(depth + 1)) return false;
      if (top && object) {
        members_.push_back(is_string ? Member{key, s_.substr(start + 1, i_ - start - 2), true}
                                     : Member{key, s_.substr(start, i_ - start), false});
      }
      ws();
      if (at(close)) return ++i_, true;
      if (!at(',')) return false;
      ++i_;
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::vector<Member> members_;
};

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 requests: the head up to the blank line, then exactly Content-Length body bytes.

struct Request {
  std::string_view method, path, query, body, authorization, last_event_id;
  bool close = false;
};

enum class Parse { incomplete, ok, bad, header_too_large, body_too_large };

Parse parse_request(std::string_view in, Request& r, std::size_t& used) {
  const std::size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos)
    return in.size() > kMaxHeader ? Parse::header_too_large : Parse::incomplete;
  if (end + 4 > kMaxHeader) return Parse::header_too_large;
  const std::string_view head = in.substr(0, end);
  std::size_t eol = std::min(head.find("\r\n"), head.size());
  const std::string_view line = head.substr(0, eol);
  const std::size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return Parse::bad;
  r.method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                         version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return Parse::bad;
  r.close = version == "HTTP/1.0";
  if (target.empty() || target[0] != '/') return Parse::bad;
  const std::size_t q = target.find('?');
  r.path = target.substr(0, q);
  r.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  std::int64_t length = -1;
  for (std::size_t pos = eol + 2; pos < head.size(); pos = eol + 2) {
    eol = std::min(head.find("\r\n", pos), head.size());
    const std::string_view h = head.substr(pos, eol - pos);
    const std::size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return Parse::bad;
    const std::string_view name = h.substr(0, colon);
    std::string_view v = h.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    std::int64_t n = 0;
    if (iequals(name, "content-length")) {
      if (!parse_int(v, n) || n < 0 || (length >= 0 && n != length)) return Parse::bad;
      length = n;
    } else if (iequals(name, "transfer-encoding")) {
      return Parse::bad;  // bodies come with a Content-Length only
    } else if (iequals(name, "authorization")) {
      r.authorization = v;
    } else if (iequals(name, "connection")) {
      r.close = iequals(v, "close") || (r.close && !iequals(v, "keep-alive"));
    } else if (iequals(name, "last-event-id")) {
      r.last_event_id = v;
    }
  }
  const std::size_t body = length < 0 ? 0 : static_cast<std::size_t>(length);
  if (body > kMaxBody) return Parse::body_too_large;
  if (in.size() < end + 4 + body) return Parse::incomplete;
  r.body = in.substr(end + 4, body);
  used = end + 4 + body;
  return Parse::ok;
}

std::string http_response(int status, std::string_view body, bool close = false,
                          std::string_view type = "application/json") {
  const char* reason = status == 200   ? "OK"
                       : status == 201 ? "Created"
                       : status == 202 ? "Accepted"
                       : status == 400 ? "Bad Request"
                       : status == 401 ? "Unauthorized"
                       : status == 404 ? "Not Found"
                       : status == 409 ? "Conflict"
                       : status == 413 ? "Payload Too Large"
                       : status == 431 ? "Request Header Fields Too Large"
                                       : "Service Unavailable";
  std::string o;
  add(o, "HTTP/1.1 ", status, " ", reason, "\r\nContent-Type: ", type,
      "\r\nContent-Length: ", body.size(), status == 401 ? "\r\nWWW-Authenticate: Bearer" : "",
      close ? "\r\nConnection: close" : "", "\r\n\r\n", body);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Shared state.

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

struct Sub {
  int thread, fd;
  std::uint64_t conn_id;
};

struct Chat {
  Chat(std::int64_t i, std::int64_t c) : id(i), character_id(c) {}
  const std::int64_t id, character_id;
  std::mutex mu;  // guards everything below; never held with another chat's
  bool running = false;
  std::int64_t reserved_seq = 0;  // the last seq given out (to the turn in flight)
  std::int64_t last_seq = 0;      // the last seq published
  std::int64_t next_message = 2;  // message 1 is the character's greeting, a new chat's leaf
  std::int64_t leaf = 1, next_generation = 1;
  std::shared_ptr<const std::string> held;  // the last published turn's events
  std::vector<std::uint32_t> held_offsets;
  std::int64_t held_first = 0;
  bool in_held_fifo = false;
  std::vector<Sub> subs;
};

// A Prometheus histogram, observed by the writer thread, read by any I/O thread.
class Histogram {
 public:
  void observe(std::int64_t ns) {
    std::size_t b = 0;
    while (b < kBounds.size() && static_cast<double>(ns) > kBounds[b] * 1e9) ++b;
    counts_[b].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
  }
  void render(std::string& o, const char* name) const {
    char b[160];
    unsigned long long cum = 0;
    add(o, "# TYPE ", name, " histogram\n");
    for (std::size_t i = 0; i <= kBounds.size(); ++i) {
      cum += counts_[i].load(std::memory_order_relaxed);
      if (i < kBounds.size())
        std::snprintf(b, sizeof b, "%s_bucket{le=\"%g\"} %llu\n", name, kBounds[i], cum);
      else
        std::snprintf(b, sizeof b, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
      o += b;
    }
    std::snprintf(b, sizeof b, "%s_sum %.9f\n%s_count %llu\n", name,
                  static_cast<double>(sum_ns_.load()) / 1e9, name, cum);
    o += b;
  }

 private:
  static constexpr std::array<double, 14> kBounds{
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

struct Shared {
  int tokens = 64;
  std::string auth;                // "Bearer trp_..."
  std::vector<std::string> words;  // kWords, JSON-escaped
  std::vector<Inbox*> inboxes;     // one per I/O thread, by index
  std::vector<std::atomic<Chat*>> chats = std::vector<std::atomic<Chat*>>(kMaxChats + 1);
  std::atomic<std::int64_t> chat_count{0}, character_count{0}, turns{0};
  std::atomic<int> connections{0};
  std::atomic<bool> stop{false};
  // Chats in the order they first retained events; over budget, the oldest forget theirs.
  std::mutex held_mu;
  std::deque<Chat*> held_fifo;
  std::atomic<std::size_t> held_bytes{0};
  Histogram group, wait;  // one commit's writev + fdatasync; a record's wait from queued to durable

  Chat* chat(std::int64_t id) {
    return id >= 1 && id <= kMaxChats
               ? chats[static_cast<std::size_t>(id)].load(std::memory_order_acquire)
               : nullptr;
  }
};

// ---------------------------------------------------------------------------------------------
// The writer thread: group commit to the append-only log.

class Writer {
 public:
  Writer(Shared& s, int fd, bool sync) : s_(s), fd_(fd), sync_(sync) {}

  bool try_reserve() {  // a place in the queue, taken before a request changes any state
    if (reserved_.fetch_add(1) < kMaxQueued) return true;
    return reserved_.fetch_sub(1), false;
  }
  void release() { reserved_.fetch_sub(1); }
  void submit(std::unique_ptr<Pending> p) {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(p));
    cv_.notify_one();
  }
  void stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }

  void run() {
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

 private:
  [[noreturn]] static void die(const char* what) {
    std::fprintf(stderr, "turn_floor: log %s failed: %s\n", what, std::strerror(errno));
    std::_Exit(1);
  }

  // One writev per IOV_MAX records (one in practice); a short write goes on where it stopped.
  void write_all(std::vector<iovec>& iov) {
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

  Shared& s_;
  const int fd_;
  const bool sync_;
  std::atomic<long> reserved_{0};  // records queued or being written
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Pending>> queue_;  // guarded by mu_
  bool stopping_ = false;                        // guarded by mu_
};

// ---------------------------------------------------------------------------------------------
// The turn's answer, record and events.

void message_json(std::string& o, std::int64_t id, std::int64_t chat, std::int64_t parent,
                  std::string_view role, std::string_view content, std::string_view status,
                  Null generation, std::int64_t ms) {
  add(o, "{\"id\":", id, ",\"chat_id\":", chat, ",\"parent_id\":", parent, ",\"role\":\"", role,
      "\",\"content\":\"", content, "\",\"status\":\"", status, "\",\"generation_id\":", generation,
      ",\"swipe_index\":0,\"swipe_count\":1,\"created_at\":", ms, ",\"updated_at\":", ms, "}");
}

void generation_json(std::string& o, std::int64_t id, std::int64_t chat, std::int64_t message,
                     std::string_view status, std::int64_t started, Null finished) {
  add(o, "{\"id\":", id, ",\"chat_id\":", chat, ",\"message_id\":", message,
      ",\"kind\":\"reply\",\"status\":\"", status,
      "\",\"error\":\"\",\"backend\":\"sim\",\"started_at\":", started,
      ",\"finished_at\":", finished, "}");
}

// Opens an SSE frame: "id: S\nevent: T\ndata: {"type":"T","chat_id":C,"seq":S"; the caller
// closes it with "}\n\n".
void begin_event(std::string& o, std::string_view type, std::int64_t chat, std::int64_t seq) {
  add(o, "id: ", seq, "\nevent: ", type, "\ndata: {\"type\":\"", type, "\",\"chat_id\":", chat,
      ",\"seq\":", seq);
}

struct TurnIds {
  std::int64_t chat, user, reply, parent, generation, first_seq;
};

void format_turn(const Shared& s, const TurnIds& t, std::string_view content, Pending& p) {
  const std::int64_t ms = wall_ms();
  auto word = [&](int i) {
    return std::string_view(
        s.words[(static_cast<std::size_t>(t.generation) * 7 + i) % s.words.size()]);
  };
  std::string user, streaming, running, text, finished;
  message_json(user, t.user, t.chat, t.parent, "user", content, "ok", std::nullopt, ms);
  message_json(streaming, t.reply, t.chat, t.user, "assistant", "", "streaming", t.generation, ms);
  generation_json(running, t.generation, t.chat, t.reply, "running", ms, std::nullopt);
  for (int i = 0; i < s.tokens; ++i) text += word(i);
  message_json(finished, t.reply, t.chat, t.user, "assistant", text, "completed", t.generation, ms);
  p.response = http_response(
      202, "{\"reply\":" + streaming + ",\"generation\":" + running + ",\"message\":" + user + "}");
  add(p.record, "{\"turn\":{\"chat_id\":", t.chat, ",\"user\":", user, ",\"reply\":", finished,
      "}}\n");

  auto events = std::make_shared<std::string>();
  std::string& o = *events;
  o.reserve(static_cast<std::size_t>(s.tokens) * 128 + 2 * user.size() + 2 * finished.size() +
            1024);
  std::int64_t seq = t.first_seq;
  auto begin = [&](std::string_view type) {
    p.offsets.push_back(static_cast<std::uint32_t>(o.size()));
    begin_event(o, type, t.chat, seq++);
  };
  begin("message.created");
  add(o, ",\"message\":", user, "}\n\n");
  begin("message.created");
  add(o, ",\"message\":", streaming, "}\n\n");
  begin("generation.started");
  add(o, ",\"generation\":", running, "}\n\n");
  for (int i = 0; i < s.tokens; ++i) {
    begin("token");
    add(o, ",\"generation_id\":", t.generation, ",\"message_id\":", t.reply, ",\"text\":\"",
        word(i), "\"}\n\n");
  }
  begin("generation.finished");
  o += ",\"generation\":";
  generation_json(o, t.generation, t.chat, t.reply, "completed", ms, wall_ms());
  add(o, ",\"message\":", finished, "}\n\n");
  p.events = std::move(events);
  p.first_seq = t.first_seq;
  p.last_seq = seq - 1;
}

// ---------------------------------------------------------------------------------------------
// An I/O thread: its epoll, its connections (by fd), its Inbox. Everything here but `inbox` is
// touched by this thread only.

class IoThread {
 public:
  IoThread(Shared& s, Writer& w, int index, int listen_fd)
      : s_(s), w_(w), index_(index), listen_fd_(listen_fd) {
    watch(inbox.fd(), EPOLLIN);
    if (listen_fd_ >= 0) watch(listen_fd_, EPOLLIN);
  }
  ~IoThread() {
    for (auto& c : conns_)
      if (c) close(c->fd);
    close(ep_);
  }

  Inbox inbox;

  void run() {
    std::array<epoll_event, 256> evs;
    std::vector<Msg> msgs;
    for (std::int64_t next_tick = 0; !s_.stop.load();) {
      const int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), 1000);
      now_ms_ = mono_ns() / 1'000'000;
      for (int i = 0; i < n; ++i) {
        const epoll_event& ev = evs[static_cast<std::size_t>(i)];
        if (ev.data.fd == inbox.fd()) {
          inbox.take(msgs);
          for (auto& m : msgs) on_msg(m);
          msgs.clear();
        } else if (ev.data.fd == listen_fd_) {
          accept_all();
        } else if (Conn* c = conn(ev.data.fd, 0)) {
          on_ready(*c, ev.events);
        }
      }
      if (now_ms_ >= next_tick) keep_alive(), next_tick = now_ms_ + 1000;
    }
  }

 private:
  struct Conn {
    int fd = -1;
    std::uint64_t id = 0;
    std::string in, out;  // unparsed request bytes; unsent bytes from out_off
    std::size_t out_off = 0;
    bool polling_out = false;  // EPOLLOUT armed
    bool waiting = false;      // a durable request is with the writer: later requests wait
    bool close_after = false;  // close once the output is sent
    bool dead = false;         // close at the next safe point (never while a chat's lock is held)
    Chat* sse = nullptr;       // set once this is an event stream of that chat
    std::int64_t last_write_ms = 0;
    bool drained() const { return out_off == out.size(); }
  };

  void watch(int fd, std::uint32_t events, int op = EPOLL_CTL_ADD) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    epoll_ctl(ep_, op, fd, &ev);
  }

  // This thread's connection on fd; with id != 0, only if it is still that connection.
  Conn* conn(int fd, std::uint64_t id) {
    const auto i = static_cast<std::size_t>(fd);
    if (fd < 0 || i >= conns_.size() || !conns_[i] || (id != 0 && conns_[i]->id != id))
      return nullptr;
    return conns_[i].get();
  }

  void accept_all() {  // thread 0
    for (;;) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0 && (errno == EINTR || errno == ECONNABORTED)) continue;
      if (fd < 0) return;  // EAGAIN (RLIMIT_NOFILE is raised above the connection bound)
      if (s_.connections.fetch_add(1) >= kMaxConnections) {
        s_.connections.fetch_sub(1);
        close(fd);
        continue;
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      const std::size_t t = next_thread_++ % s_.inboxes.size();
      if (t == static_cast<std::size_t>(index_))
        adopt(fd);
      else
        s_.inboxes[t]->post(Msg{Msg::Kind::adopt, fd, 0, nullptr, nullptr});
    }
  }

  void adopt(int fd) {
    if (static_cast<std::size_t>(fd) >= conns_.size())
      conns_.resize(static_cast<std::size_t>(fd) + 64);
    auto& c = conns_[static_cast<std::size_t>(fd)] = std::make_unique<Conn>();
    c->fd = fd;
    c->id = ++next_conn_id_;
    c->last_write_ms = now_ms_;
    watch(fd, EPOLLIN);
  }

  void close_conn(Conn& c) {
    if (c.sse) {
      std::lock_guard lock(c.sse->mu);
      std::erase_if(c.sse->subs, [&](const Sub& x) {
        return x.thread == index_ && x.fd == c.fd && x.conn_id == c.id;
      });
    }
    const int fd = c.fd;
    close(fd);  // also leaves the epoll set
    s_.connections.fetch_sub(1);
    conns_[static_cast<std::size_t>(fd)].reset();
  }

  void on_msg(Msg& m) {
    if (m.kind == Msg::Kind::adopt) return adopt(m.fd);
    if (m.kind == Msg::Kind::done) return on_durable(*m.pending);
    if (Conn* c = conn(m.fd, m.conn_id)) {  // deliver: a turn published by another thread
      send(*c, *m.bytes);
      if (c->dead) close_conn(*c);
    }
  }

  void on_ready(Conn& c, std::uint32_t events) {
    if (events & (EPOLLERR | EPOLLHUP)) c.dead = true;
    if (!c.dead && (events & EPOLLOUT)) flush(c);
    if (!c.dead && (events & EPOLLIN)) {
      char buf[16384];
      const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        c.dead = true;
      } else if (n > 0 && !c.sse) {  // an event stream's client has nothing more to say: ignored
        c.in.append(buf, static_cast<std::size_t>(n));
        if (c.in.size() > kMaxHeader + kMaxBody + sizeof buf)
          c.dead = true;  // piling up behind a wait
        else
          process(c);
      }
    }
    if (c.dead) close_conn(c);
  }

  // Sends now what the socket takes; the rest waits for EPOLLOUT.
  void send(Conn& c, std::string_view b) {
    if (c.dead) return;
    c.last_write_ms = now_ms_;
    if (c.drained()) {
      ssize_t n = ::send(c.fd, b.data(), b.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return void(c.dead = true);
      b.remove_prefix(static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
      c.out.clear();
      c.out_off = 0;
      if (b.empty()) return;
    }
    c.out.append(b);
    if (c.out.size() - c.out_off > kMaxOutput)
      return void(c.dead = true);  // a reader too far behind
    if (!c.polling_out) watch(c.fd, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD), c.polling_out = true;
  }

  void flush(Conn& c) {
    while (!c.drained()) {
      const ssize_t n =
          ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
      if (n < 0) return void(c.dead = errno != EAGAIN && errno != EINTR);
      c.out_off += static_cast<std::size_t>(n);
    }
    c.out.clear();
    c.out_off = 0;
    if (c.out.capacity() > (256u << 10)) c.out.shrink_to_fit();
    watch(c.fd, EPOLLIN, EPOLL_CTL_MOD);
    c.polling_out = false;
    if (c.close_after && !c.waiting) c.dead = true;
  }

  void fail(Conn& c, int status, std::string_view code, std::string_view message,
            bool close = false) {
    std::string body;
    add(body, "{\"error\":{\"code\":\"", code, "\",\"message\":\"", json_escape(message), "\"}}");
    send(c, http_response(status, body, close));
    c.close_after |= close;
  }

  // Answers the complete requests in the buffer, up to a durable one (on_durable goes on).
  void process(Conn& c) {
    std::size_t off = 0;
    while (!c.dead && !c.waiting && !c.close_after && !c.sse && off < c.in.size()) {
      Request r;
      std::size_t used = 0;
      const Parse got = parse_request(std::string_view(c.in).substr(off), r, used);
      if (got == Parse::incomplete) break;
      if (got == Parse::bad) fail(c, 400, "bad_request", "malformed request", true);
      if (got == Parse::header_too_large)
        fail(c, 431, "bad_request", "request header too large", true);
      if (got == Parse::body_too_large)
        fail(c, 413, "payload_too_large", "request body too large", true);
      if (got != Parse::ok) break;
      handle(c, r);
      off += used;
      c.close_after |= r.close;
    }
    c.in.erase(0, off);
    if (c.close_after && !c.waiting && c.drained()) c.dead = true;
  }

  void handle(Conn& c, const Request& r) {
    const std::string_view p = r.path;
    const bool get = r.method == "GET", post = r.method == "POST";
    if (get && p == "/healthz") return send(c, http_response(200, "{\"status\":\"ok\"}"));
    if (get && p == "/metrics") {
      std::string body;
      s_.group.render(body, "troupe_db_write_group_seconds");
      s_.wait.render(body, "troupe_db_write_wait_seconds");
      add(body, "# TYPE troupe_turn_floor_turns_total counter\ntroupe_turn_floor_turns_total ",
          s_.turns.load(), "\n");
      return send(c, http_response(200, body, false, "text/plain; version=0.0.4"));
    }
    enum { none, character, chat, events, messages } route = none;
    std::int64_t id = 0;
    if (post && p == "/api/characters") route = character;
    if (post && p == "/api/chats") route = chat;
    if (p.starts_with("/api/chats/")) {  // /api/chats/{id}/events, /api/chats/{id}/messages
      const std::string_view rest = p.substr(11),
                             tail = rest.substr(std::min(rest.find('/'), rest.size()));
      if (parse_int(rest.substr(0, rest.size() - tail.size()), id) && id > 0) {
        if (get && tail == "/events") route = events;
        if (post && tail == "/messages") route = messages;
      }
    }
    if (route == none) return fail(c, 404, "not_found", "no route for " + std::string(p));
    if (r.authorization != s_.auth)
      return fail(c, 401, "unauthorized", "missing or invalid bearer token");
    if (route == character) return create_character(c, r);
    if (route == chat) return create_chat(c, r);
    Chat* ch = s_.chat(id);
    if (!ch) return fail(c, 404, "not_found", "chat not found");
    if (route == events) return subscribe(c, r, *ch);
    return post_message(c, r, *ch);
  }

  // Hands a durable request to the writer (the caller holds a reservation); on_durable answers.
  void submit(Conn& c, std::unique_ptr<Pending> p) {
    p->thread = index_;
    p->fd = c.fd;
    p->conn_id = c.id;
    p->queued_ns = mono_ns();
    c.waiting = true;
    w_.submit(std::move(p));
  }

  void create_character(Conn& c, const Request& r) {
    JsonObject j;
    if (!j.parse(r.body)) return fail(c, 400, "bad_request", "request body must be a JSON object");
    const std::string_view* name = j.str("name");
    if (!name || name->empty()) return fail(c, 400, "bad_request", "field 'name' is required");
    if (!w_.try_reserve()) return fail(c, 503, "unavailable", "too many writes queued");
    const std::int64_t id = ++s_.character_count;
    if (id > kMaxCharacters)
      return w_.release(), fail(c, 503, "unavailable", "too many characters");
    auto p = std::make_unique<Pending>();
    std::string body;
    add(body, "{\"id\":", id, ",\"name\":\"", *name, "\"}");
    add(p->record, "{\"character\":", body, "}\n");
    p->response = http_response(201, body);
    submit(c, std::move(p));
  }

  void create_chat(Conn& c, const Request& r) {
    JsonObject j;
    std::int64_t character = 0;
    if (!j.parse(r.body)) return fail(c, 400, "bad_request", "request body must be a JSON object");
    if (!j.integer("character_id", character))
      return fail(c, 400, "bad_request", "field 'character_id' is required");
    if (character < 1 || character > s_.character_count.load())
      return fail(c, 404, "not_found", "character not found");
    const std::string_view* title = j.str("title");
    if (!w_.try_reserve()) return fail(c, 503, "unavailable", "too many writes queued");
    const std::int64_t id = ++s_.chat_count;
    if (id > kMaxChats) return w_.release(), fail(c, 503, "unavailable", "too many chats");
    s_.chats[static_cast<std::size_t>(id)].store(new Chat(id, character),
                                                 std::memory_order_release);
    const std::int64_t ms = wall_ms();
    auto p = std::make_unique<Pending>();
    std::string body;
    add(body, "{\"id\":", id, ",\"character_id\":", character, ",\"persona_id\":0,\"title\":\"",
        title ? *title : std::string_view(), "\",\"leaf_id\":1,\"last_seq\":0,\"created_at\":", ms,
        ",\"updated_at\":", ms, ",\"generation\":null}");
    add(p->record, "{\"chat\":", body, "}\n");
    p->response = http_response(201, body);
    submit(c, std::move(p));
  }

  // GET /api/chats/{id}/events: what the chat still holds after after_seq (or Last-Event-ID; with
  // neither: from now), then every new event until the client closes.
  void subscribe(Conn& c, const Request& r, Chat& ch) {
    std::int64_t after = -1;
    for (std::string_view q = r.query; !q.empty();) {
      const std::string_view kv = q.substr(0, q.find('&'));
      q.remove_prefix(std::min(q.size(), kv.size() + 1));
      if (kv.starts_with("after_seq=") && (!parse_int(kv.substr(10), after) || after < 0))
        return fail(c, 400, "bad_request", "after_seq must be a sequence number");
    }
    if (after < 0 && !r.last_event_id.empty() && (!parse_int(r.last_event_id, after) || after < 0))
      return fail(c, 400, "bad_request", "Last-Event-ID must be a sequence number");
    std::string out =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
        "X-Accel-Buffering: no\r\nConnection: close\r\n\r\n: keep-alive\n\n";
    {
      std::lock_guard lock(ch.mu);
      if (ch.subs.size() >= kMaxSubscribers)
        return fail(c, 503, "unavailable", "too many subscribers");
      if (after < 0) after = ch.last_seq;
      if (after < ch.last_seq && ch.held && after + 1 >= ch.held_first) {
        out += std::string_view(*ch.held).substr(
            ch.held_offsets[static_cast<std::size_t>(after + 1 - ch.held_first)]);
      } else if (after < ch.last_seq) {  // what the client missed is no longer held
        begin_event(out, "resync", ch.id, ch.last_seq);
        out += "}\n\n";
      }
      ch.subs.push_back(Sub{index_, c.fd, c.id});
    }
    c.sse = &ch;
    send(c, out);
  }

  // POST /api/chats/{id}/messages: the turn.
  void post_message(Conn& c, const Request& r, Chat& ch) {
    JsonObject j;
    if (!j.parse(r.body)) return fail(c, 400, "bad_request", "request body must be a JSON object");
    const std::string_view* content = j.str("content");
    if (!content || content->empty())
      return fail(c, 400, "bad_request", "field 'content' is required");
    if (!w_.try_reserve()) return fail(c, 503, "unavailable", "too many writes queued");
    TurnIds t{};
    {
      std::lock_guard lock(ch.mu);
      if (!ch.running) {
        ch.running = true;
        t = TurnIds{ch.id,   ch.next_message,      ch.next_message + 1,
                    ch.leaf, ch.next_generation++, ch.reserved_seq + 1};
        ch.next_message += 2;
        ch.leaf = t.reply;
        ch.reserved_seq += s_.tokens + 4;
      }
    }
    if (t.chat == 0)
      return w_.release(), fail(c, 409, "conflict", "a generation is already running in this chat");
    auto p = std::make_unique<Pending>();
    format_turn(s_, t, *content, *p);
    p->chat = &ch;
    submit(c, std::move(p));
  }

  // The writer made p durable: the answer, a turn's events, then the connection's next request.
  void on_durable(Pending& p) {
    Conn* c = conn(p.fd, p.conn_id);  // gone if the client closed meanwhile
    if (c) send(*c, p.response), c->waiting = false;
    if (p.chat) publish(p);
    if (c) {
      process(*c);
      if (c->dead) close_conn(*c);
    }
  }

  void publish(Pending& p) {
    Chat& ch = *p.chat;
    std::vector<Conn*> mine;
    bool first_held = false;
    {
      std::lock_guard lock(ch.mu);
      ch.running = false;
      ch.last_seq = p.last_seq;
      s_.held_bytes += p.events->size();
      if (ch.held) s_.held_bytes -= ch.held->size();
      ch.held = p.events;
      ch.held_offsets = std::move(p.offsets);
      ch.held_first = p.first_seq;
      first_held = !ch.in_held_fifo;
      ch.in_held_fifo = true;
      for (const Sub& sub : ch.subs) {
        if (sub.thread != index_) {
          s_.inboxes[static_cast<std::size_t>(sub.thread)]->post(
              Msg{Msg::Kind::deliver, sub.fd, sub.conn_id, nullptr, p.events});
        } else if (Conn* sc = conn(sub.fd, sub.conn_id)) {
          mine.push_back(sc);
        }
      }
    }
    ++s_.turns;
    for (Conn* sc : mine) {  // after the chat's lock: closing a subscriber takes it
      send(*sc, *p.events);
      if (sc->dead) close_conn(*sc);
    }
    if (first_held) {
      std::lock_guard lock(s_.held_mu);
      s_.held_fifo.push_back(&ch);
    }
    while (s_.held_bytes.load() > kHeldBudget) {
      Chat* old = nullptr;
      {
        std::lock_guard lock(s_.held_mu);
        if (s_.held_fifo.empty()) break;
        old = s_.held_fifo.front();
        s_.held_fifo.pop_front();
      }
      std::lock_guard lock(old->mu);
      if (old->held) s_.held_bytes -= old->held->size();
      old->held.reset();
      old->held_offsets.clear();
      old->in_held_fifo = false;
    }
  }

  // Once a second: a comment on every event stream that sent nothing for kKeepAliveMs.
  void keep_alive() {
    for (auto& c : conns_) {
      if (!c || !c->sse || !c->drained() || now_ms_ - c->last_write_ms < kKeepAliveMs) continue;
      send(*c, ": keep-alive\n\n");
      if (c->dead) close_conn(*c);
    }
  }

  Shared& s_;
  Writer& w_;
  const int index_;
  const int listen_fd_;  // thread 0 only, else -1
  const int ep_ = epoll_create1(EPOLL_CLOEXEC);
  std::vector<std::unique_ptr<Conn>> conns_;  // by fd
  std::uint64_t next_conn_id_ = 0;
  std::size_t next_thread_ = 0;
  std::int64_t now_ms_ = 0;  // steady clock, read after each epoll_wait
};

int usage(const std::string& why) {
  std::fprintf(
      stderr,
      "turn_floor: %s\nusage: troupe_turn_floor [serve] --listen 127.0.0.1:PORT --data DIR "
      "[--set KEY=VALUE]... [--threads N] [--sync fdatasync|none]\n",
      why.c_str());
  return 2;
}

}  // namespace

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
