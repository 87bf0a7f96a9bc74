// troupe_loadgen: a closed-loop load generator for a running Troupe server on the loopback
// interface. Each simulated user owns one chat, one keep-alive HTTP connection for its POSTs and
// one event subscription (an SSE stream or a WebSocket) kept open across turns. A turn is
// POST /api/chats/{id}/messages followed by waiting for that generation's generation.finished
// event; the next turn starts only when both the 202 answer and the finished event arrived.
//
// Scenarios: `turns` (the chat-turn workload) and `healthz` (GET /healthz round trips on one
// keep-alive connection per user: the server's HTTP floor, used as the in-run baseline).
// Memory: --spaces shared (default) drives every user through one character, so all users fill
// one memory space (2 memories per turn); --spaces per-user creates a character per user, giving
// each a space of its own as real users have. Turn runs also report the server's memory retrieval
// latency by mode (troupe_memory_retrieval_seconds from GET /metrics, scraped when the window
// opens and when it closes).
// Output: a human summary on stdout, then one line of JSON (the last line).
// Thread-safety: each user lives on exactly one io_context, which one thread runs; users never
// share state except the atomic turn budget. Results are merged after every thread joined.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using asio::awaitable;

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------------------------------------
// Options and small helpers

struct Options {
  std::string url = "http://127.0.0.1:8080";
  std::string token;
  std::string scenario = "turns";  // turns | healthz
  std::string transport = "sse";   // sse | ws
  int users = 50;
  int duration_s = 20;
  long turns = 0;  // 0 = run for duration_s
  int warmup_s = 2;
  int threads = 1;
  int expect_tokens = 64;
  int turn_timeout_ms = 10'000;
  int turns_per_chat = 0;  // 0 = one chat per user for the whole run
  // With turns_per_chat: user i's first chat is shortened by i % turns_per_chat turns, so the
  // users move to new chats evenly over time. aligned_rotation keeps every first chat whole:
  // all users then open a new chat within the same pacing interval (a burst of new chats).
  bool aligned_rotation = false;
  double rate = 0;         // paced mode: offered turns/s over all users (0 = closed loop)
  int server_pid = 0;
  std::string label;
  // shared: every user talks to one character (one memory space for the whole run);
  // per-user: each user gets a character of its own (a memory space each, as real users have).
  std::string spaces = "shared";
  // Derived.
  std::string host;
  std::string port;
};

bool parse_url(Options& o) {
  constexpr std::string_view scheme = "http://";
  std::string_view u = o.url;
  if (u.substr(0, scheme.size()) != scheme) return false;
  u.remove_prefix(scheme.size());
  if (auto slash = u.find('/'); slash != std::string_view::npos) u = u.substr(0, slash);
  auto colon = u.rfind(':');
  if (colon == std::string_view::npos) return false;
  o.host = std::string(u.substr(0, colon));
  o.port = std::string(u.substr(colon + 1));
  // Load stays on this machine: only loopback targets are accepted.
  return (o.host == "127.0.0.1" || o.host == "localhost" || o.host == "[::1]") && !o.port.empty();
}

std::string host_header(const Options& o) { return o.host + ":" + o.port; }

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// utime+stime of a process in milliseconds, from /proc/<pid>/stat (fields 14 and 15).
std::optional<double> process_cpu_ms(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!f || !std::getline(f, line)) return std::nullopt;
  auto close = line.rfind(')');  // the command name may contain spaces and parentheses
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return 1000.0 * static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Busy CPU time of the whole machine in milliseconds (all CPUs, from /proc/stat): everything but
// idle and iowait. Used to see how much other load shared the machine during a measurement.
std::optional<double> machine_busy_ms() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  unsigned long long v[10] = {};
  if (!(f >> cpu) || cpu != "cpu") return std::nullopt;
  for (auto& x : v) f >> x;  // user nice system idle iowait irq softirq steal guest guest_nice
  const unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return 1000.0 * static_cast<double>(busy) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_ms() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ms = [](const timeval& t) { return t.tv_sec * 1000.0 + t.tv_usec / 1000.0; };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

// ---------------------------------------------------------------------------------------------
// Event classification. Events are JSON objects; the server writes them as
// {"type":"T","chat_id":C,"seq":S,...} with token events continuing ,"generation_id":G. That prefix
// is read without a JSON parser (this runs ~64 times per turn); anything else is parsed fully.

struct EventInfo {
  std::string_view type;  // points into the frame or into `owned_type`
  std::int64_t seq = 0;
  std::int64_t generation_id = 0;  // token events
  bool ok = false;
  std::string owned_type;
};

bool eat(std::string_view& s, std::string_view lit) {
  if (s.substr(0, lit.size()) != lit) return false;
  s.remove_prefix(lit.size());
  return true;
}

bool eat_int(std::string_view& s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc()) return false;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return true;
}

EventInfo classify_slow(std::string_view data) {
  EventInfo e;
  boost::system::error_code ec;
  auto v = json::parse(data, ec);
  if (ec || !v.is_object()) return e;
  const auto& o = v.as_object();
  auto str = [&](const char* k) -> std::string {
    auto* p = o.if_contains(k);
    return p && p->is_string() ? std::string(p->as_string()) : std::string();
  };
  auto num = [&](const char* k) -> std::int64_t {
    auto* p = o.if_contains(k);
    return p && p->is_int64() ? p->as_int64() : 0;
  };
  e.owned_type = str("type");
  e.type = e.owned_type;
  e.seq = num("seq");
  e.generation_id = num("generation_id");
  e.ok = !e.owned_type.empty();
  return e;
}

EventInfo classify(std::string_view data) {
  EventInfo e;
  std::string_view s = data;
  std::int64_t chat = 0;
  if (!eat(s, "{\"type\":\"")) return classify_slow(data);
  auto q = s.find('"');
  if (q == std::string_view::npos) return classify_slow(data);
  e.type = s.substr(0, q);
  s.remove_prefix(q);
  if (!eat(s, "\",\"chat_id\":") || !eat_int(s, chat) || !eat(s, ",\"seq\":") || !eat_int(s, e.seq)) {
    return classify_slow(data);
  }
  if (e.type == "token") {
    if (!eat(s, ",\"generation_id\":") || !eat_int(s, e.generation_id)) return classify_slow(data);
  }
  e.ok = true;
  return e;
}

struct Finished {
  std::int64_t generation_id = 0;
  std::string status;
  std::size_t content_bytes = 0;
};

Finished parse_finished(std::string_view data) {
  Finished f;
  boost::system::error_code ec;
  auto v = json::parse(data, ec);
  if (ec || !v.is_object()) return f;
  if (auto* g = v.as_object().if_contains("generation"); g && g->is_object()) {
    if (auto* id = g->as_object().if_contains("id"); id && id->is_int64()) f.generation_id = id->as_int64();
    if (auto* st = g->as_object().if_contains("status"); st && st->is_string()) f.status = st->as_string();
  }
  if (auto* m = v.as_object().if_contains("message"); m && m->is_object()) {
    if (auto* c = m->as_object().if_contains("content"); c && c->is_string()) f.content_bytes = c->as_string().size();
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// A keep-alive HTTP/1.1 client connection.

constexpr std::size_t kReadBuffer = 64 * 1024;  // bytes a stream's read buffer keeps reserved

class HttpConn {
 public:
  HttpConn(asio::any_io_executor ex, const Options& o) : stream_(ex), opts_(o) {}

  struct Answer {
    int status = 0;  // 0 = transport error
    std::string body;
    std::string error;
  };

  awaitable<Answer> request(http::verb verb, std::string target, std::string body,
                            std::chrono::milliseconds timeout) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!open_) {
        if (auto err = co_await connect(timeout); !err.empty()) co_return Answer{0, {}, err};
      }
      http::request<http::string_body> req{verb, target, 11};
      req.set(http::field::host, host_header(opts_));
      if (!opts_.token.empty()) req.set(http::field::authorization, "Bearer " + opts_.token);
      if (!body.empty()) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
      }
      req.keep_alive(true);
      req.prepare_payload();
      stream_.expires_after(timeout);
      auto [wec, wn] = co_await http::async_write(stream_, req, kAsTuple);
      http::response<http::string_body> res;
      boost::system::error_code rec;
      if (!wec) std::tie(rec, std::ignore) = co_await http::async_read(stream_, buf_, res, kAsTuple);
      auto ec = wec ? wec : rec;
      if (ec) {
        close();
        // A keep-alive connection the server closed between requests: retry once on a new one.
        if (attempt == 0 && (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                             ec == asio::error::broken_pipe || ec == asio::error::eof)) {
          continue;
        }
        co_return Answer{0, {}, ec == beast::error::timeout ? "timeout" : "transport"};
      }
      if (!res.keep_alive()) close();
      co_return Answer{static_cast<int>(res.result_int()), std::move(res.body()), {}};
    }
    co_return Answer{0, {}, "transport"};
  }

  void close() {
    boost::system::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    buf_.clear();
    open_ = false;
  }

 private:
  awaitable<std::string> connect(std::chrono::milliseconds timeout) {
    tcp::resolver resolver(stream_.get_executor());
    auto [rec, eps] = co_await resolver.async_resolve(opts_.host, opts_.port, kAsTuple);
    if (rec) co_return "resolve";
    stream_.expires_after(timeout);
    auto [cec, ep] = co_await stream_.async_connect(eps, kAsTuple);
    if (cec) co_return "connect";
    stream_.socket().set_option(tcp::no_delay(true));
    open_ = true;
    co_return std::string();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  const Options& opts_;
  bool open_ = false;
};

// ---------------------------------------------------------------------------------------------
// Event subscriptions: SSE (GET /api/chats/{id}/events) or WebSocket (/ws + subscribe).

struct RawEvent {
  std::string_view sse_type;  // SSE "event:" field (empty for WebSocket)
  std::int64_t sse_id = -1;   // SSE "id:" field
  std::string_view data;      // the JSON text
};

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Opens the stream from `after_seq`; returns an error string or "".
  virtual awaitable<std::string> open(std::int64_t chat_id, std::int64_t after_seq) = 0;
  // Next event; `data` stays valid until the next call. Returns an error string or "".
  virtual awaitable<std::string> next(RawEvent& ev) = 0;
  virtual void close() = 0;
};

awaitable<boost::system::error_code> connect_tcp(beast::tcp_stream& s, const Options& o) {
  tcp::resolver resolver(s.get_executor());
  auto [rec, eps] = co_await resolver.async_resolve(o.host, o.port, kAsTuple);
  if (rec) co_return rec;
  s.expires_after(std::chrono::seconds(5));
  auto [cec, ep] = co_await s.async_connect(eps, kAsTuple);
  if (!cec) s.socket().set_option(tcp::no_delay(true));
  co_return cec;
}

class SseSubscriber final : public Subscriber {
 public:
  SseSubscriber(asio::any_io_executor ex, const Options& o) : ex_(ex), opts_(o) {}

  awaitable<std::string> open(std::int64_t chat_id, std::int64_t after_seq) override {
    close();
    stream_.emplace(ex_);
    if (auto ec = co_await connect_tcp(*stream_, opts_)) co_return "connect";
    http::request<http::empty_body> req{http::verb::get,
                                        "/api/chats/" + std::to_string(chat_id) +
                                            "/events?after_seq=" + std::to_string(after_seq),
                                        11};
    req.set(http::field::host, host_header(opts_));
    req.set(http::field::authorization, "Bearer " + opts_.token);
    req.set(http::field::accept, "text/event-stream");
    stream_->expires_after(std::chrono::seconds(5));
    auto [wec, wn] = co_await http::async_write(*stream_, req, kAsTuple);
    if (wec) co_return "transport";
    parser_.emplace();
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    // Beast reads at most the buffer's free capacity per call (512 bytes minimum): room for a
    // whole reply keeps one turn's events to a read or two instead of one per half kilobyte.
    buf_.reserve(kReadBuffer);
    auto [hec, hn] = co_await http::async_read_header(*stream_, buf_, *parser_, kAsTuple);
    if (hec) co_return "transport";
    if (parser_->get().result_int() != 200) {
      co_return "sse_status_" + std::to_string(parser_->get().result_int());
    }
    stream_->expires_never();
    consumed_ = 0;
    // Wait for the server's ": connected" comment (or a first event) so no turn starts before
    // the subscription exists. An event seen here is left in the buffer for next().
    RawEvent ev;
    for (;;) {
      auto got = parse_one(ev);
      if (got == Parsed::comment) break;
      if (got == Parsed::event) {
        consumed_ = block_start_;
        break;
      }
      if (auto err = co_await fill(); !err.empty()) co_return err;
    }
    co_return std::string();
  }

  awaitable<std::string> next(RawEvent& ev) override {
    for (;;) {
      auto got = parse_one(ev);
      if (got == Parsed::event) co_return std::string();
      if (got == Parsed::none) {
        if (auto err = co_await fill(); !err.empty()) co_return err;
      }
    }
  }

  void close() override {
    if (stream_) {
      boost::system::error_code ec;
      stream_->socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_->close();
    }
    buf_.clear();
  }

 private:
  // Reads more body bytes into the parser's string body.
  awaitable<std::string> fill() {
    auto& body = parser_->get().body();
    if (consumed_ > 0) {
      body.erase(0, consumed_);
      consumed_ = 0;
    }
    if (parser_->is_done()) co_return "stream_closed";
    auto [ec, n] = co_await http::async_read_some(*stream_, buf_, *parser_, kAsTuple);
    if (ec) co_return ec == asio::error::operation_aborted ? "aborted" : "stream_closed";
    co_return std::string();
  }

  enum class Parsed { none, comment, event };

  // Extracts one complete (blank-line terminated) SSE block from the body: an event with data,
  // or a comment block (": connected", ": keep-alive").
  Parsed parse_one(RawEvent& ev) {
    const std::string& body = parser_->get().body();
    for (;;) {
      std::string_view rest(body.data() + consumed_, body.size() - consumed_);
      auto end = rest.find("\n\n");
      if (end == std::string_view::npos) return Parsed::none;
      std::string_view block = rest.substr(0, end);
      block_start_ = consumed_;
      consumed_ += end + 2;
      ev = RawEvent{};
      bool has_data = false, comment = false;
      while (!block.empty()) {
        auto nl = block.find('\n');
        std::string_view line = block.substr(0, nl);
        block = nl == std::string_view::npos ? std::string_view() : block.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        if (line.front() == ':') {
          comment = true;
          continue;
        }
        auto colon = line.find(':');
        std::string_view field = line.substr(0, colon);
        std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (field == "event") {
          ev.sse_type = value;
        } else if (field == "id") {
          std::int64_t id = -1;
          std::from_chars(value.data(), value.data() + value.size(), id);
          ev.sse_id = id;
        } else if (field == "data") {
          // The server's events are single-line JSON; a multi-line data field keeps its first
          // line, which then fails the JSON checks and counts as malformed.
          if (!has_data) ev.data = value;
          has_data = true;
        }
      }
      if (has_data) return Parsed::event;
      if (comment) return Parsed::comment;
    }
  }

  asio::any_io_executor ex_;
  const Options& opts_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buf_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::size_t consumed_ = 0;
  std::size_t block_start_ = 0;
};

// After the handshake (Beast) and the subscribe message, frames are read straight from the socket
// into a 64 KiB buffer: Beast's WebSocket stream reads at most 1,536 bytes per call and completes
// every message through the scheduler, which made the client cost more than the server's side
// of a turn. Server frames are unmasked; text (possibly fragmented), ping (answered with a masked
// pong), pong and close are handled; anything else is a protocol error.
class WsSubscriber final : public Subscriber {
 public:
  WsSubscriber(asio::any_io_executor ex, const Options& o) : ex_(ex), opts_(o) {}

  awaitable<std::string> open(std::int64_t chat_id, std::int64_t after_seq) override {
    close();
    ws_.emplace(ex_);
    if (auto ec = co_await connect_tcp(beast::get_lowest_layer(*ws_), opts_)) co_return "connect";
    beast::get_lowest_layer(*ws_).expires_never();
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.handshake_timeout = std::chrono::seconds(5);
    ws_->set_option(timeouts);
    ws_->set_option(websocket::stream_base::decorator([token = opts_.token](websocket::request_type& r) {
      r.set(http::field::authorization, "Bearer " + token);
    }));
    auto [hec] = co_await ws_->async_handshake(host_header(opts_), "/ws", kAsTuple);
    if (hec) co_return "ws_handshake";
    ws_->text(true);
    std::string sub = R"({"type":"subscribe","chat_id":)" + std::to_string(chat_id) +
                      R"(,"after_seq":)" + std::to_string(after_seq) + "}";
    auto [wec, wn] = co_await ws_->async_write(asio::buffer(sub), kAsTuple);
    if (wec) co_return "transport";
    // The server sends nothing before it answers the subscription, so Beast holds no frame yet.
    rbuf_.resize(kReadBuffer);
    rbegin_ = rend_ = 0;
    std::string_view first;
    if (auto err = co_await next_text(first); !err.empty()) co_return err;
    if (first.find("\"subscribed\"") == std::string_view::npos) co_return "ws_subscribe_refused";
    co_return std::string();
  }

  awaitable<std::string> next(RawEvent& ev) override {
    std::string_view text;
    if (auto err = co_await next_text(text); !err.empty()) co_return err;
    ev = RawEvent{};
    ev.data = text;
    co_return std::string();
  }

  void close() override {
    if (ws_) {
      boost::system::error_code ec;
      beast::get_lowest_layer(*ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(*ws_).close();
    }
  }

 private:
  static constexpr std::size_t kMaxMessage = 16 << 20;

  tcp::socket& socket() { return beast::get_lowest_layer(*ws_).socket(); }

  // The next complete text message; `text` stays valid until the next call.
  awaitable<std::string> next_text(std::string_view& text) {
    message_.clear();
    for (;;) {
      const auto* p = reinterpret_cast<const unsigned char*>(rbuf_.data() + rbegin_);
      const std::size_t have = rend_ - rbegin_;
      std::size_t header = 2;
      std::uint64_t len = 0;
      bool complete = false;
      if (have >= 2) {
        len = p[1] & 0x7f;
        if (len == 126) header = 4;
        if (len == 127) header = 10;
        if (have >= header) {
          if (header == 4) len = (std::uint64_t{p[2]} << 8) | p[3];
          if (header == 10) {
            len = 0;
            for (int i = 2; i < 10; ++i) len = (len << 8) | p[i];
          }
          if ((p[1] & 0x80) || (p[0] & 0x70) || len > kMaxMessage) co_return "ws_protocol";
          complete = have >= header + len;
        }
      }
      if (!complete) {
        if (auto err = co_await fill(header + len); !err.empty()) co_return err;
        continue;
      }
      const bool fin = p[0] & 0x80;
      const int opcode = p[0] & 0x0f;
      std::string_view payload(rbuf_.data() + rbegin_ + header, len);
      rbegin_ += header + len;
      switch (opcode) {
        case 0x1:  // text
        case 0x0:  // continuation
          if (opcode == 0x1 && !message_.empty()) co_return "ws_protocol";
          if (fin && message_.empty()) {
            text = payload;  // the common case: one frame, read in place
            co_return std::string();
          }
          message_.append(payload);
          if (message_.size() > kMaxMessage) co_return "ws_protocol";
          if (fin) {
            text = message_;
            co_return std::string();
          }
          break;
        case 0x8:
          co_return "stream_closed";
        case 0x9:
          if (auto err = co_await pong(payload); !err.empty()) co_return err;
          break;
        case 0xa:
          break;
        default:
          co_return "ws_protocol";
      }
    }
  }

  // Reads more bytes; `need` is the size of the frame being assembled (when known).
  awaitable<std::string> fill(std::size_t need) {
    if (rbegin_ > 0) {  // keep the unread tail at the front
      std::memmove(rbuf_.data(), rbuf_.data() + rbegin_, rend_ - rbegin_);
      rend_ -= rbegin_;
      rbegin_ = 0;
    }
    if (need > rbuf_.size()) rbuf_.resize(need);
    auto [ec, n] = co_await socket().async_read_some(asio::buffer(rbuf_.data() + rend_, rbuf_.size() - rend_),
                                                     kAsTuple);
    if (ec) co_return ec == asio::error::operation_aborted ? "aborted" : "stream_closed";
    rend_ += n;
    co_return std::string();
  }

  // A masked pong carrying the ping's payload (at most 125 bytes by the protocol).
  awaitable<std::string> pong(std::string_view payload) {
    if (payload.size() > 125) co_return "ws_protocol";
    const unsigned char key[4] = {0x5a, 0xc3, 0x96, 0x21};
    std::string frame;
    frame.push_back(static_cast<char>(0x8a));
    frame.push_back(static_cast<char>(0x80 | payload.size()));
    frame.append(reinterpret_cast<const char*>(key), 4);
    for (std::size_t i = 0; i < payload.size(); ++i) frame.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
    auto [ec, n] = co_await asio::async_write(socket(), asio::buffer(frame), kAsTuple);
    if (ec) co_return "transport";
    co_return std::string();
  }

  asio::any_io_executor ex_;
  const Options& opts_;
  std::optional<websocket::stream<beast::tcp_stream>> ws_;
  std::vector<char> rbuf_;
  std::size_t rbegin_ = 0;  // unread bytes are [rbegin_, rend_)
  std::size_t rend_ = 0;
  std::string message_;  // a fragmented message being assembled
};

// ---------------------------------------------------------------------------------------------
// Shared run plan and per-user results.

struct Plan {
  Clock::time_point t0;             // start of load (after setup)
  Clock::time_point measure_start;  // t0 + warmup
  Clock::time_point stop_at;        // no new turn starts after this
  long turn_budget = 0;             // 0 = unlimited
  std::atomic<long> budget_taken{0};
};

struct Sample {
  Clock::time_point end;
  float latency_ms;
  float ttft_ms;
  float last_token_ms;  // the whole reply streamed (generation.finished follows its durable commit)
  float from_send_ms;  // paced mode: latency from when the POST was actually sent
  bool first_in_chat = false;  // the chat's first turn (right after it was created and subscribed)
};

struct UserResult {
  std::vector<Sample> samples;
  std::vector<float> lag_ms;                 // paced mode: how late turns started (ms)
  std::map<std::string, long> errors;        // during the measurement window
  std::map<std::string, long> errors_total;  // whole run
  long events = 0;
  long tokens = 0;
};

struct ErrorSink {
  UserResult& r;
  const Plan& plan;
  void operator()(const std::string& kind) {
    ++r.errors_total[kind];
    auto now = Clock::now();
    if (now >= plan.measure_start && now <= plan.stop_at) ++r.errors[kind];
  }
};

// May this user start another turn / request now?
bool may_start(Plan& plan) {
  auto now = Clock::now();
  if (now >= plan.stop_at) return false;
  if (plan.turn_budget > 0 && now >= plan.measure_start) {
    return plan.budget_taken.fetch_add(1) < plan.turn_budget;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// One chat user: a turn loop plus a reader of its event stream, both on the same thread.

class ChatUser {
 public:
  ChatUser(asio::any_io_executor ex, const Options& o, Plan& plan, int index, std::int64_t chat_id,
           std::int64_t after_seq, std::int64_t character_id, UserResult& out)
      : ex_(ex), opts_(o), plan_(plan), character_id_(character_id), chat_id_(chat_id),
        last_seq_(after_seq), post_(ex, o),
        wake_(ex), out_(out), error_{out, plan} {
    if (o.turns_per_chat > 0 && !o.aligned_rotation) chat_turns_left_ = o.turns_per_chat - index % o.turns_per_chat;
    if (o.rate > 0) {
      // Paced mode: this user starts a turn every users/rate seconds; users are spread evenly
      // over one interval so the offered load is smooth.
      interval_ = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.users / o.rate));
      next_start_ = plan.t0 + interval_ * index / o.users;
    }
    if (o.transport == "ws") {
      sub_ = std::make_unique<WsSubscriber>(ex, o);
    } else {
      sub_ = std::make_unique<SseSubscriber>(ex, o);
    }
  }

  // Runs until the plan says stop; then closes everything it opened.
  awaitable<void> run() {
    // One chat after another: a chat is left for a new one after --turns-per-chat turns.
    while (co_await run_chat()) {
      auto r = co_await post_.request(http::verb::post, "/api/chats",
                                      R"({"character_id":)" + std::to_string(character_id_) +
                                          R"(,"title":"loadgen"})",
                                      std::chrono::milliseconds(opts_.turn_timeout_ms));
      boost::system::error_code ec;
      auto v = r.status == 201 ? json::parse(r.body, ec) : json::value();
      if (r.status != 201 || ec || !v.is_object() || !v.as_object().contains("id")) {
        error_(r.status == 0 ? "new_chat_" + r.error : "new_chat_http_" + std::to_string(r.status));
        break;
      }
      chat_id_ = v.at("id").as_int64();
      auto* ls = v.as_object().if_contains("last_seq");
      last_seq_ = ls && ls->is_int64() ? ls->as_int64() : 0;
      seen_any_ = false;
    }
    post_.close();
  }

 private:
  // Subscribes to the current chat and runs turns in it. True when the per-chat turn limit was
  // reached and the run goes on (the caller then moves to a new chat).
  awaitable<bool> run_chat() {
    if (auto err = co_await sub_->open(chat_id_, last_seq_); !err.empty()) {
      error_("subscribe_" + err);
      co_return false;
    }
    stopping_ = false;
    reader_running_ = true;
    asio::co_spawn(ex_, read_loop(), [this](std::exception_ptr) {
      reader_running_ = false;
      wake_.cancel();
    });
    const bool more = co_await turn_loop();
    stopping_ = true;
    sub_->close();
    while (reader_running_) {
      wake_.expires_after(std::chrono::milliseconds(50));
      co_await wake_.async_wait(kAsTuple);
    }
    co_return more;
  }

 private:
  struct Turn {
    bool active = false;
    Clock::time_point start;
    Clock::time_point first_token;
    Clock::time_point last_token;
    Clock::time_point finished_at;
    int tokens = 0;
    std::int64_t token_generation = 0;
    bool token_generation_mismatch = false;
    bool finished = false;
    Finished fin;
  };

  awaitable<bool> turn_loop() {
    long n = 0;
    for (;;) {
      if (opts_.turns_per_chat > 0 && n >= (chat_turns_left_ > 0 ? chat_turns_left_ : opts_.turns_per_chat)) {
        chat_turns_left_ = 0;  // only the first chat is shortened
        co_return true;
      }
      if (interval_.count() > 0) {
        // Latency counts from the scheduled start, so a server that falls behind the offered rate
        // shows it in the percentiles instead of silently slowing the load down.
        if (next_start_ > Clock::now()) {
          wake_.expires_at(next_start_);
          co_await wake_.async_wait(kAsTuple);
          out_.lag_ms.push_back(0.f);
        } else {
          out_.lag_ms.push_back(static_cast<float>(ms_between(next_start_, Clock::now())));
        }
      }
      if (!may_start(plan_)) co_return false;
      turn_ = Turn{};
      turn_.active = true;
      turn_.start = interval_.count() > 0 ? next_start_ : Clock::now();
      next_start_ += interval_;
      const auto sent = Clock::now();
      std::string body = R"({"content":"Hello there, this is turn )" + std::to_string(++n) + R"(."})";
      auto ans = co_await post_.request(http::verb::post, "/api/chats/" + std::to_string(chat_id_) + "/messages",
                                        std::move(body), std::chrono::milliseconds(opts_.turn_timeout_ms));
      if (ans.status != 202) {
        turn_.active = false;
        error_(ans.status == 0 ? "post_" + ans.error : "post_http_" + std::to_string(ans.status));
        // Back off a little so a failing server is not hammered (a 409 means the previous
        // generation is still running).
        wake_.expires_after(std::chrono::milliseconds(20));
        co_await wake_.async_wait(kAsTuple);
        continue;
      }
      std::int64_t gen_id = 0;
      {
        boost::system::error_code ec;
        auto v = json::parse(ans.body, ec);
        const json::value* g = nullptr;
        if (!ec && v.is_object()) g = v.as_object().if_contains("generation");
        if (g && g->is_object()) {
          if (auto* id = g->as_object().if_contains("id"); id && id->is_int64()) gen_id = id->as_int64();
        }
      }
      if (gen_id == 0) error_("post_bad_body");
      // Wait for generation.finished (the reader wakes us), bounded by the turn timeout counted
      // from when the request was sent.
      const auto timeout = std::chrono::milliseconds(opts_.turn_timeout_ms);
      co_await wait_finished(sent + timeout);
      if (!turn_.finished) {
        error_(reader_running_ ? "turn_timeout" : "stream_lost");
        if (!reader_running_) co_return false;
        // The generation may still be running: give it one more timeout to end so that the next
        // turn neither collides with it (409) nor sees its events.
        co_await wait_finished(Clock::now() + timeout);
        turn_.active = false;
        continue;
      }
      turn_.active = false;
      bool ok = true;
      if (turn_.fin.generation_id != gen_id) ok = false, error_("finished_wrong_generation");
      if (turn_.fin.status != "completed") ok = false, error_("generation_" + turn_.fin.status);
      if (turn_.tokens != opts_.expect_tokens) ok = false, error_("token_count");
      if (turn_.token_generation != gen_id || turn_.token_generation_mismatch) ok = false, error_("token_wrong_generation");
      if (turn_.fin.content_bytes == 0) ok = false, error_("empty_reply");
      if (ok) {
        out_.samples.push_back(Sample{turn_.finished_at, static_cast<float>(ms_between(turn_.start, turn_.finished_at)),
                                      static_cast<float>(ms_between(turn_.start, turn_.first_token)),
                                      static_cast<float>(ms_between(turn_.start, turn_.last_token)),
                                      static_cast<float>(ms_between(sent, turn_.finished_at)), n == 1});
      }
    }
  }

  awaitable<void> wait_finished(Clock::time_point deadline) {
    while (!turn_.finished && reader_running_ && Clock::now() < deadline) {
      wake_.expires_at(deadline);
      co_await wake_.async_wait(kAsTuple);
    }
  }

  awaitable<void> read_loop() {
    RawEvent raw;
    while (!stopping_) {
      auto err = co_await sub_->next(raw);
      if (!err.empty()) {
        if (stopping_) co_return;
        error_("stream_" + err);
        // Reconnect and resume after the last event seen (the server replays the gap).
        bool reopened = false;
        for (int attempt = 0; attempt < 20 && !stopping_ && Clock::now() < plan_.stop_at; ++attempt) {
          asio::steady_timer backoff(ex_, std::chrono::milliseconds(100));
          co_await backoff.async_wait(kAsTuple);
          if (stopping_) co_return;
          if (auto e = co_await sub_->open(chat_id_, last_seq_); e.empty()) {
            reopened = true;
            break;
          } else {
            error_("subscribe_" + e);
          }
        }
        if (!reopened) co_return;
        continue;
      }
      on_event(raw);
    }
  }

  void on_event(const RawEvent& raw) {
    const auto now = Clock::now();
    ++out_.events;
    EventInfo e = classify(raw.data);
    if (!e.ok) {
      error_("malformed_event");
      return;
    }
    if (!raw.sse_type.empty() && (raw.sse_type != e.type || raw.sse_id != e.seq)) error_("sse_field_mismatch");
    if (e.type == "error") {
      error_("server_error_event");
      return;
    }
    if (e.type == "resync") {
      error_("resync");
      last_seq_ = e.seq;
      return;
    }
    // Sequence numbers of one chat increase by exactly one per event.
    if (seen_any_ && e.seq != last_seq_ + 1) error_(e.seq <= last_seq_ ? "seq_repeat" : "seq_gap");
    seen_any_ = true;
    last_seq_ = std::max(last_seq_, e.seq);
    if (e.type == "token") {
      ++out_.tokens;
      if (!turn_.active) {
        error_("token_outside_turn");
        return;
      }
      if (turn_.tokens == 0) {
        turn_.first_token = now;
        turn_.token_generation = e.generation_id;
      } else if (e.generation_id != turn_.token_generation) {
        turn_.token_generation_mismatch = true;
      }
      turn_.last_token = now;
      ++turn_.tokens;
    } else if (e.type == "generation.finished") {
      if (!turn_.active) {
        error_("finished_outside_turn");
        return;
      }
      turn_.fin = parse_finished(raw.data);
      turn_.finished_at = now;
      turn_.finished = true;
      wake_.cancel();
    }
  }

  asio::any_io_executor ex_;
  const Options& opts_;
  Plan& plan_;
  std::int64_t character_id_;
  std::int64_t chat_id_;
  std::int64_t last_seq_;
  bool seen_any_ = false;
  HttpConn post_;
  std::unique_ptr<Subscriber> sub_;
  asio::steady_timer wake_;
  Turn turn_;
  bool stopping_ = false;
  bool reader_running_ = false;
  Clock::duration interval_{0};  // paced mode only
  long chat_turns_left_ = 0;       // the first chat's own turn limit (0: --turns-per-chat)
  Clock::time_point next_start_;
  UserResult& out_;
  ErrorSink error_;
};

// GET /healthz in a loop on one keep-alive connection: the server's HTTP round-trip floor.
awaitable<void> healthz_user(const Options& o, Plan& plan, UserResult& out) {
  asio::steady_timer start_line(co_await asio::this_coro::executor, plan.t0);
  co_await start_line.async_wait(kAsTuple);
  HttpConn conn(co_await asio::this_coro::executor, o);
  ErrorSink error{out, plan};
  while (may_start(plan)) {
    auto start = Clock::now();
    auto ans = co_await conn.request(http::verb::get, "/healthz", {}, std::chrono::milliseconds(o.turn_timeout_ms));
    auto end = Clock::now();
    if (ans.status != 200) {
      error(ans.status == 0 ? "get_" + ans.error : "get_http_" + std::to_string(ans.status));
      continue;
    }
    out.samples.push_back(Sample{end, static_cast<float>(ms_between(start, end)), 0.f, 0.f, 0.f});
  }
  conn.close();
}

// ---------------------------------------------------------------------------------------------
// Setup: one character and one chat per user.

struct ChatInfo {
  std::int64_t id = 0;
  std::int64_t last_seq = 0;
  std::int64_t character_id = 0;
};

awaitable<std::string> setup(const Options& o, std::vector<ChatInfo>& chats) {
  HttpConn conn(co_await asio::this_coro::executor, o);
  const auto timeout = std::chrono::seconds(10);
  std::int64_t character_id = 0;
  for (std::size_t i = 0; i < chats.size(); ++i) {
    auto& c = chats[i];
    if (character_id == 0 || o.spaces == "per-user") {
      // A memory space is one user x one character: a character per simulated user gives each
      // of them a space of its own, though they all share one account.
      const std::string name = o.spaces == "per-user" ? "Loadgen Bard " + std::to_string(i + 1) : "Loadgen Bard";
      auto ch = co_await conn.request(http::verb::post, "/api/characters",
                                      R"({"name":")" + name +
                                          R"(","description":"A character used by the load generator.",)"
                                          R"("first_mes":"Greetings, traveller."})",
                                      timeout);
      if (ch.status != 201) co_return "POST /api/characters answered " + std::to_string(ch.status) + " " + ch.body;
      character_id = json::parse(ch.body).at("id").as_int64();
    }
    c.character_id = character_id;
    auto r = co_await conn.request(http::verb::post, "/api/chats",
                                   R"({"character_id":)" + std::to_string(character_id) + R"(,"title":"loadgen"})",
                                   timeout);
    if (r.status != 201) co_return "POST /api/chats answered " + std::to_string(r.status) + " " + r.body;
    auto v = json::parse(r.body);
    c.id = v.at("id").as_int64();
    if (auto* s = v.as_object().if_contains("last_seq"); s && s->is_int64()) c.last_seq = s->as_int64();
  }
  conn.close();
  co_return std::string();
}

// ---------------------------------------------------------------------------------------------
// Statistics and report.

struct Dist {
  double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

Dist distribution(std::vector<float> v) {
  Dist d;
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  auto rank = [&](double p) {  // nearest-rank percentile
    auto i = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    return static_cast<double>(v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)]);
  };
  d.p50 = rank(0.50);
  d.p90 = rank(0.90);
  d.p99 = rank(0.99);
  d.max = v.back();
  double sum = 0;
  for (float x : v) sum += x;
  d.mean = sum / static_cast<double>(v.size());
  return d;
}

json::object dist_json(const Dist& d) {
  auto r = [](double x) { return std::round(x * 1000.0) / 1000.0; };
  return {{"p50", r(d.p50)}, {"p90", r(d.p90)}, {"p99", r(d.p99)}, {"max", r(d.max)}, {"mean", r(d.mean)}};
}

// Compact JSON with numbers in their shortest round-trip form (no exponent for typical values).
void write_json(const json::value& v, std::string& out) {
  char buf[64];
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.as_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string(kv.key()));
        out += ':';
        write_json(kv.value(), out);
      }
      out += '}';
      break;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.as_array()) {
        if (!first) out += ',';
        first = false;
        write_json(e, out);
      }
      out += ']';
      break;
    }
    case json::kind::double_: {
      auto r = std::to_chars(buf, buf + sizeof buf, v.as_double());
      out.append(buf, r.ptr);
      break;
    }
    default:
      out += json::serialize(v);
  }
}

// ---------------------------------------------------------------------------------------------
// Memory retrieval latency inside the server: the troupe_memory_retrieval_seconds histogram of
// GET /metrics, scraped when the measurement window opens and when it closes; the difference is
// what the window's turns saw. Percentiles interpolate linearly inside a bucket (as Prometheus'
// histogram_quantile does), so they are as fine as the bucket bounds.

struct HistogramScrape {
  std::map<double, double> cumulative;  // upper bound (inf for +Inf) -> count
  double sum = 0;
  double count = 0;
};
using RetrievalScrape = std::map<std::string, HistogramScrape>;  // by mode

// Value of label `key` in a `{a="x",b="y"}` label set, or "".
std::string label_value(std::string_view labels, std::string_view key) {
  const std::string pat = std::string(key) + "=\"";
  auto at = labels.find(pat);
  if (at == std::string_view::npos) return {};
  at += pat.size();
  auto end = labels.find('"', at);
  return end == std::string_view::npos ? std::string() : std::string(labels.substr(at, end - at));
}

// Every series of histogram `name` (e.g. "troupe_memory_retrieval_seconds"), keyed by the value of
// label `key` ("" for a histogram without that label).
RetrievalScrape parse_histogram(const std::string& text, std::string_view name, std::string_view key) {
  RetrievalScrape out;
  const std::string prefix = std::string(name) + "_";
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::string_view l = line;
    if (l.substr(0, prefix.size()) != prefix) continue;
    l.remove_prefix(prefix.size());
    std::string_view kind, labels;
    auto brace = l.find('{'), close = l.find('}'), space = l.find(' ');
    std::size_t value_at = 0;
    if (brace != std::string_view::npos && close != std::string_view::npos && brace < space) {
      kind = l.substr(0, brace);
      labels = l.substr(brace, close - brace + 1);
      value_at = close + 1;
    } else if (space != std::string_view::npos) {
      kind = l.substr(0, space);
      value_at = space;
    } else {
      continue;
    }
    const double value = std::strtod(std::string(l.substr(value_at)).c_str(), nullptr);
    auto& h = out[key.empty() ? std::string() : label_value(labels, key)];
    if (kind == "bucket") {
      const std::string le = label_value(labels, "le");
      h.cumulative[le == "+Inf" ? std::numeric_limits<double>::infinity() : std::strtod(le.c_str(), nullptr)] = value;
    } else if (kind == "sum") {
      h.sum = value;
    } else if (kind == "count") {
      h.count = value;
    }
  }
  return out;
}

RetrievalScrape parse_retrieval(const std::string& text) {
  return parse_histogram(text, "troupe_memory_retrieval_seconds", "mode");
}

// Quantile q of the observations between two scrapes, in milliseconds (nullopt: none).
std::optional<double> histogram_quantile(const HistogramScrape& before, const HistogramScrape& after, double q) {
  const double total = after.count - before.count;
  if (total <= 0) return std::nullopt;
  const double rank = q * total;
  double lower = 0, below = 0;
  for (auto& [le, cum] : after.cumulative) {
    auto b = before.cumulative.find(le);
    const double c = cum - (b == before.cumulative.end() ? 0 : b->second);
    if (c >= rank) {
      if (std::isinf(le)) return lower * 1000.0;  // beyond the last bound: report that bound
      const double in_bucket = c - below;
      const double frac = in_bucket > 0 ? (rank - below) / in_bucket : 1.0;
      return (lower + (le - lower) * frac) * 1000.0;
    }
    lower = le;
    below = c;
  }
  return std::nullopt;
}

awaitable<std::string> scrape_metrics(const Options& o) {
  HttpConn conn(co_await asio::this_coro::executor, o);
  auto ans = co_await conn.request(http::verb::get, "/metrics", {}, std::chrono::seconds(5));
  conn.close();
  co_return ans.status == 200 ? ans.body : std::string();
}

struct CpuMark {
  Clock::time_point at;
  std::optional<double> server_ms;
  std::optional<double> machine_ms;
  double self_ms = 0;
};

CpuMark cpu_mark(int server_pid) {
  CpuMark m;
  m.at = Clock::now();
  m.machine_ms = machine_busy_ms();
  if (server_pid > 0) m.server_ms = process_cpu_ms(server_pid);
  m.self_ms = self_cpu_ms();
  return m;
}

// Samples CPU at the start and the end of the measurement window (duration mode).
// Also scrapes the retrieval histogram at both marks (turns scenario).
struct ServerScrape {
  RetrievalScrape retrieval;  // by mode
  HistogramScrape lag;        // event-loop lag, all I/O threads
  HistogramScrape db_wait;    // embedded store: writes waiting for their group commit
  HistogramScrape db_group;   // embedded store: group commits
};

ServerScrape parse_server(const std::string& text) {
  ServerScrape s;
  s.retrieval = parse_retrieval(text);
  auto one = [&](std::string_view name, HistogramScrape& into) {
    auto h = parse_histogram(text, name, "");
    if (auto it = h.find(""); it != h.end()) into = it->second;
  };
  one("troupe_event_loop_lag_seconds", s.lag);
  one("troupe_db_write_wait_seconds", s.db_wait);
  one("troupe_db_write_group_seconds", s.db_group);
  return s;
}

// Prints "<label> N in window: mean, p50, p99, p99.9" of a server histogram between two scrapes
// and returns the same figures (empty when nothing was observed in the window).
json::object window_summary(const char* label, const HistogramScrape& before, const HistogramScrape& after) {
  const double n = after.count - before.count;
  if (n <= 0) return {};
  auto r = [](std::optional<double> x) { return x ? std::round(*x * 1000.0) / 1000.0 : 0.0; };
  const double mean = (after.sum - before.sum) / n * 1000.0;
  const auto p50 = histogram_quantile(before, after, 0.50), p99 = histogram_quantile(before, after, 0.99),
             p999 = histogram_quantile(before, after, 0.999);
  std::printf("  %s %.0f in window: mean %.3f ms  p50 %.3f  p99 %.3f  p99.9 %.3f (server histogram)\n", label,
              n, mean, r(p50), r(p99), r(p999));
  return json::object{{"count", n},
                      {"mean_ms", std::round(mean * 1000.0) / 1000.0},
                      {"p50_ms", r(p50)},
                      {"p99_ms", r(p99)},
                      {"p999_ms", r(p999)}};
}

awaitable<void> cpu_monitor(const Options& o, Plan& plan, CpuMark& begin, CpuMark& end, bool& have_end,
                            ServerScrape& r_begin, ServerScrape& r_end) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_at(plan.measure_start);
  co_await t.async_wait(kAsTuple);
  begin = cpu_mark(o.server_pid);
  r_begin = parse_server(co_await scrape_metrics(o));
  if (plan.turn_budget > 0) co_return;
  t.expires_at(plan.stop_at);
  co_await t.async_wait(kAsTuple);
  end = cpu_mark(o.server_pid);
  have_end = true;
  r_end = parse_server(co_await scrape_metrics(o));
}

int run(Options& o) {
  std::vector<ChatInfo> chats(o.scenario == "turns" ? static_cast<std::size_t>(o.users) : 0);
  if (o.scenario == "turns") {
    asio::io_context io;
    std::string err;
    asio::co_spawn(io, setup(o, chats), [&](std::exception_ptr e, std::string r) {
      err = r;
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          err = std::string("setup failed: ") + ex.what();
        }
      }
    });
    io.run();
    if (!err.empty()) {
      std::cerr << "troupe_loadgen: " << err << "\n";
      return 1;
    }
  }

  Plan plan;
  plan.t0 = Clock::now() + std::chrono::milliseconds(200);  // time for subscriptions to open
  plan.measure_start = plan.t0 + std::chrono::seconds(o.warmup_s);
  plan.stop_at = plan.measure_start + std::chrono::seconds(o.duration_s);
  plan.turn_budget = o.turns;

  std::vector<UserResult> results(static_cast<std::size_t>(o.users));
  std::vector<std::unique_ptr<asio::io_context>> ios;
  for (int i = 0; i < o.threads; ++i) ios.push_back(std::make_unique<asio::io_context>(1));
  std::vector<std::unique_ptr<ChatUser>> users;
  CpuMark cpu_begin, cpu_end;
  bool have_end = false;
  ServerScrape scrape_begin, scrape_end;
  asio::co_spawn(*ios[0], cpu_monitor(o, plan, cpu_begin, cpu_end, have_end, scrape_begin, scrape_end),
                 asio::detached);
  for (int i = 0; i < o.users; ++i) {
    auto& io = *ios[static_cast<std::size_t>(i % o.threads)];
    auto& res = results[static_cast<std::size_t>(i)];
    if (o.scenario == "turns") {
      auto& c = chats[static_cast<std::size_t>(i)];
      users.push_back(std::make_unique<ChatUser>(io.get_executor(), o, plan, i, c.id, c.last_seq, c.character_id, res));
      asio::co_spawn(io, users.back()->run(), asio::detached);
    } else {
      asio::co_spawn(io, healthz_user(o, plan, res), asio::detached);
    }
  }
  std::vector<std::thread> pool;
  for (int i = 1; i < o.threads; ++i) pool.emplace_back([&io = *ios[static_cast<std::size_t>(i)]] { io.run(); });
  ios[0]->run();
  for (auto& t : pool) t.join();
  const auto finished_at = Clock::now();
  if (!have_end) cpu_end = cpu_mark(o.server_pid);

  // Merge: count what completed inside the measurement window.
  auto window_end = plan.turn_budget > 0 ? finished_at : plan.stop_at;
  if (plan.turn_budget > 0) {
    Clock::time_point last = plan.measure_start;
    for (auto& r : results)
      for (auto& s : r.samples) last = std::max(last, s.end);
    window_end = last;
  }
  std::vector<float> lat, ttft, last_token, from_send, lat_first;
  std::map<std::string, long> errors, errors_total;
  long events = 0, tokens = 0, completed_all = 0;
  // Completions per whole second of the window: shows drift (e.g. per-turn cost growing with the
  // length of each chat's history) and stalls.
  const auto whole_seconds = static_cast<std::size_t>(
      std::chrono::duration_cast<std::chrono::seconds>(window_end - plan.measure_start).count());
  std::vector<long> per_second(std::max<std::size_t>(1, whole_seconds), 0);
  for (auto& r : results) {
    completed_all += static_cast<long>(r.samples.size());
    for (auto& s : r.samples) {
      if (s.end < plan.measure_start || s.end > window_end) continue;
      lat.push_back(s.latency_ms);
      from_send.push_back(s.from_send_ms);
      ttft.push_back(s.ttft_ms);
      last_token.push_back(s.last_token_ms);
      if (s.first_in_chat) lat_first.push_back(s.latency_ms);
      auto sec = static_cast<std::size_t>(std::chrono::duration_cast<std::chrono::seconds>(s.end - plan.measure_start).count());
      if (sec < per_second.size()) ++per_second[sec];
    }
    for (auto& [k, v] : r.errors) errors[k] += v;
    for (auto& [k, v] : r.errors_total) errors_total[k] += v;
    events += r.events;
    tokens += r.tokens;
  }
  const double window_s = std::max(1e-9, std::chrono::duration<double>(window_end - plan.measure_start).count());
  const double ops = static_cast<double>(lat.size());
  const double rate = ops / window_s;
  long err_sum = 0, err_total_sum = 0;
  for (auto& [k, v] : errors) err_sum += v;
  for (auto& [k, v] : errors_total) err_total_sum += v;

  const double cpu_window_s = std::chrono::duration<double>(cpu_end.at - cpu_begin.at).count();
  std::optional<double> server_cpu_ms;
  if (cpu_begin.server_ms && cpu_end.server_ms) server_cpu_ms = *cpu_end.server_ms - *cpu_begin.server_ms;
  const double self_cpu = cpu_end.self_ms - cpu_begin.self_ms;
  // Cores kept busy by everything else on the machine (other processes, and steal on a VM).
  std::optional<double> other_cores;
  if (cpu_begin.machine_ms && cpu_end.machine_ms && server_cpu_ms) {
    other_cores = std::max(0.0, (*cpu_end.machine_ms - *cpu_begin.machine_ms - *server_cpu_ms - self_cpu) / 1000.0 /
                                    cpu_window_s);
  }

  const bool turns = o.scenario == "turns";
  std::vector<float> lags;
  for (auto& r : results) lags.insert(lags.end(), r.lag_ms.begin(), r.lag_ms.end());
  const long late = std::count_if(lags.begin(), lags.end(), [](float x) { return x > 1.0f; });
  const Dist dlag = distribution(lags);
  // Mean rate over the first and the last quarter of the whole seconds.
  auto quarter_rate = [&](bool last) {
    std::size_t q = std::max<std::size_t>(1, per_second.size() / 4);
    long sum = 0;
    for (std::size_t i = 0; i < q; ++i) sum += per_second[last ? per_second.size() - 1 - i : i];
    return static_cast<double>(sum) / static_cast<double>(q);
  };
  const double first_q = quarter_rate(false), last_q = quarter_rate(true);
  const double turns_per_user = static_cast<double>(completed_all) / std::max(1, o.users);
  const Dist dl = distribution(lat);
  const Dist dt = distribution(ttft);
  const Dist dlt = distribution(last_token);
  const Dist dfirst = distribution(lat_first);
  const Dist ds = distribution(from_send);
  const char* unit = turns ? "turns" : "requests";

  std::printf("troupe_loadgen %s%s%s: %d users, %s transport, %d thread(s), warmup %d s, window %.2f s\n",
              o.scenario.c_str(), o.label.empty() ? "" : " ", o.label.c_str(), o.users,
              turns ? o.transport.c_str() : "http", o.threads, o.warmup_s, window_s);
  std::printf("  completed %s:  %.0f  (%.1f %s/s)\n", unit, ops, rate, unit);
  std::printf("  latency ms:       p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  mean %.2f\n", dl.p50, dl.p90, dl.p99,
              dl.max, dl.mean);
  if (turns) {
    std::printf("  first token ms:   p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", dt.p50, dt.p90, dt.p99, dt.max);
    std::printf("  last token ms:    p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (the reply streamed; the turn "
                "ends at generation.finished)\n",
                dlt.p50, dlt.p90, dlt.p99, dlt.max);
    std::printf("  events received:  %ld (%ld tokens) over the whole run; %.0f turns per user\n",
                events, tokens, turns_per_user);
    if (o.turns_per_chat > 0) {
      std::printf("  chats:            a new chat every %d turns, moves %s\n", o.turns_per_chat,
                  o.aligned_rotation ? "aligned (all users at once)" : "staggered over the users");
      std::printf("  first turn ms:    p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (%zu turns, each a chat's first)\n",
                  dfirst.p50, dfirst.p90, dfirst.p99, dfirst.max, lat_first.size());
    }
  }
  if (o.rate > 0) {
    std::printf("  paced:            offered %.1f turns/s; %ld of %zu turns started > 1 ms late (lag p99 %.2f ms, max %.2f)\n",
                o.rate, late, lags.size(), dlag.p99, dlag.max);
    std::printf("  from send ms:     p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (not counting late starts)\n", ds.p50,
                ds.p90, ds.p99, ds.max);
  }
  std::printf("  rate drift:       first quarter %.1f/s, last quarter %.1f/s\n", first_q, last_q);
  std::printf("  errors:           %ld in window, %ld in whole run", err_sum, err_total_sum);
  for (auto& [k, v] : errors_total) std::printf("  [%s: %ld]", k.c_str(), v);
  std::printf("\n");
  if (server_cpu_ms && ops > 0) {
    std::printf("  server CPU:       %.3f ms per %s (%.2f cores busy)\n", *server_cpu_ms / ops,
                turns ? "turn" : "request", *server_cpu_ms / 1000.0 / cpu_window_s);
  }
  json::object retrieval;
  for (auto& [mode, after] : scrape_end.retrieval) {
    const HistogramScrape& before = scrape_begin.retrieval[mode];
    const double n = after.count - before.count;
    if (n <= 0) continue;
    auto r = [](std::optional<double> x) { return x ? std::round(*x * 1000.0) / 1000.0 : 0.0; };
    const double mean = (after.sum - before.sum) / n * 1000.0;
    const auto p50 = histogram_quantile(before, after, 0.50), p99 = histogram_quantile(before, after, 0.99);
    std::printf("  retrieval %-7s  %.0f in window: mean %.3f ms  p50 %.3f  p99 %.3f (server histogram)\n",
                (mode + ":").c_str(), n, mean, r(p50), r(p99));
    retrieval[mode] = json::object{{"count", n},
                                   {"mean_ms", std::round(mean * 1000.0) / 1000.0},
                                   {"p50_ms", r(p50)},
                                   {"p99_ms", r(p99)}};
  }
  json::object lag = window_summary("event-loop lag:  ", scrape_begin.lag, scrape_end.lag);
  json::object db_wait = window_summary("db write wait:   ", scrape_begin.db_wait, scrape_end.db_wait);
  json::object db_group = window_summary("db group commit: ", scrape_begin.db_group, scrape_end.db_group);
  if (other_cores) std::printf("  other load:       %.2f cores busy outside server and load generator\n", *other_cores);
  if (ops > 0) {
    std::printf("  loadgen CPU:      %.3f ms per %s (%.2f cores busy)\n", self_cpu / ops, turns ? "turn" : "request",
                self_cpu / 1000.0 / cpu_window_s);
  }

  json::object out;
  out["scenario"] = o.scenario;
  if (!o.label.empty()) out["label"] = o.label;
  out["transport"] = turns ? o.transport : "http";
  out["users"] = o.users;
  out["threads"] = o.threads;
  out["warmup_s"] = o.warmup_s;
  out["window_s"] = std::round(window_s * 1000.0) / 1000.0;
  out["ops"] = static_cast<std::int64_t>(ops);
  out["ops_per_s"] = std::round(rate * 10.0) / 10.0;
  out["latency_ms"] = dist_json(dl);
  if (turns) {
    out["ttft_ms"] = dist_json(dt);
    out["last_token_ms"] = dist_json(dlt);
    out["first_turn_ms"] = dist_json(dfirst);
    out["first_turns"] = static_cast<std::int64_t>(lat_first.size());
    out["expect_tokens"] = o.expect_tokens;
    out["events"] = events;
    out["tokens"] = tokens;
    out["turns_per_chat_limit"] = o.turns_per_chat;
    out["rotation"] = o.turns_per_chat == 0 ? "none" : o.aligned_rotation ? "aligned" : "staggered";
    out["turns_per_user"] = std::round(turns_per_user * 10.0) / 10.0;
  }
  if (o.rate > 0) {
    out["offered_rate"] = o.rate;
    out["late_turns"] = late;
    out["schedule_lag_ms"] = dist_json(dlag);
    out["from_send_ms"] = dist_json(ds);
  } else {
    out["offered_rate"] = nullptr;
  }
  if (turns) out["retrieval"] = std::move(retrieval);
  out["event_loop_lag"] = std::move(lag);
  if (!db_wait.empty()) out["db_write_wait"] = std::move(db_wait);
  if (!db_group.empty()) out["db_write_group"] = std::move(db_group);
  out["spaces"] = turns ? o.spaces : "-";
  out["first_quarter_ops_per_s"] = std::round(first_q * 10.0) / 10.0;
  out["last_quarter_ops_per_s"] = std::round(last_q * 10.0) / 10.0;
  json::array ps;
  for (long c : per_second) ps.push_back(c);
  out["per_second"] = std::move(ps);
  out["errors"] = err_sum;
  out["errors_total"] = err_total_sum;
  json::object kinds;
  for (auto& [k, v] : errors_total) kinds[k] = v;
  out["error_kinds"] = std::move(kinds);
  if (server_cpu_ms && ops > 0) {
    out["server_cpu_ms_per_op"] = std::round(*server_cpu_ms / ops * 1000.0) / 1000.0;
    out["server_cpu_cores"] = std::round(*server_cpu_ms / 10.0 / cpu_window_s) / 100.0;
  } else {
    out["server_cpu_ms_per_op"] = nullptr;
    out["server_cpu_cores"] = nullptr;
  }
  out["loadgen_cpu_ms_per_op"] = ops > 0 ? std::round(self_cpu / ops * 1000.0) / 1000.0 : 0.0;
  out["loadgen_cpu_cores"] = std::round(self_cpu / 10.0 / cpu_window_s) / 100.0;
  if (other_cores) {
    out["other_cpu_cores"] = std::round(*other_cores * 100.0) / 100.0;
  } else {
    out["other_cpu_cores"] = nullptr;
  }
  std::string line;
  write_json(out, line);
  std::cout << line << std::endl;
  return (ops > 0 && err_total_sum == 0) ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App cli{"troupe_loadgen: chat-turn load generator for a Troupe server on 127.0.0.1"};
  cli.add_option("--url", o.url, "Server base URL (loopback only)")->capture_default_str();
  cli.add_option("--token", o.token, "Bearer token (trp_...); required for the turns scenario");
  cli.add_option("--scenario", o.scenario, "turns | healthz")
      ->check(CLI::IsMember({"turns", "healthz"}))
      ->capture_default_str();
  cli.add_option("--transport", o.transport, "Event transport: sse | ws")
      ->check(CLI::IsMember({"sse", "ws"}))
      ->capture_default_str();
  cli.add_option("--users", o.users, "Concurrent users (each: own chat, own connections)")
      ->check(CLI::Range(1, 5000))
      ->capture_default_str();
  cli.add_option("--duration", o.duration_s, "Measurement window in seconds (a cap with --turns)")
      ->check(CLI::Range(1, 600))
      ->capture_default_str();
  cli.add_option("--turns", o.turns, "Measure this many turns/requests instead of a fixed window")
      ->check(CLI::Range(1L, 10'000'000L));
  cli.add_option("--warmup", o.warmup_s, "Seconds of load before measuring")
      ->check(CLI::Range(0, 120))
      ->capture_default_str();
  cli.add_option("--threads", o.threads, "Client I/O threads")->check(CLI::Range(1, 64))->capture_default_str();
  cli.add_option("--expect-tokens", o.expect_tokens, "Token events expected per reply")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cli.add_option("--turn-timeout-ms", o.turn_timeout_ms, "Per-turn/request timeout")
      ->check(CLI::Range(100, 120000))
      ->capture_default_str();
  cli.add_option("--turns-per-chat", o.turns_per_chat,
                 "Move each user to a new chat after this many turns (0 = never): bounds history length")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  cli.add_flag("--aligned-rotation", o.aligned_rotation,
               "With --turns-per-chat: every user's first chat runs the full count, so all users move "
               "to new chats at the same moment (a burst). Default: first chats are shortened by "
               "user index modulo the count, spreading the moves evenly over time");
  cli.add_option("--rate", o.rate,
                 "Offered load in turns/s over all users (paced; latency counted from the scheduled "
                 "start). 0 = closed loop: each user starts its next turn at once")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  cli.add_option("--spaces", o.spaces,
                 "Memory spaces: shared (all users talk to one character) | per-user (a character "
                 "per user: a memory space each)")
      ->check(CLI::IsMember({"shared", "per-user"}))
      ->capture_default_str();
  cli.add_option("--server-pid", o.server_pid, "Server PID: CPU time read from /proc/<pid>/stat");
  cli.add_option("--label", o.label, "Free-form label copied into the JSON line");
  CLI11_PARSE(cli, argc, argv);
  if (o.users < o.threads) o.threads = o.users;
  if (!parse_url(o)) {
    std::cerr << "troupe_loadgen: --url must be http://127.0.0.1:PORT (or localhost / [::1])\n";
    return 2;
  }
  if (o.host == "[::1]") o.host = "::1";
  if (o.scenario == "turns" && o.token.empty()) {
    std::cerr << "troupe_loadgen: --token is required for the turns scenario\n";
    return 2;
  }
  return run(o);
}
