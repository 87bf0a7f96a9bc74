// IoThread: an I/O thread with its epoll, connections (by fd) and Inbox; its loop is in
// IoThread.cpp, its routes in IoThreadRoutes.cpp. Thread-safety: only this thread touches it, but
// for `inbox` (post() from any thread); main() constructs it, and destroys it once run() has
// returned.
#pragma once

#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "HttpRequest.h"
#include "Inbox.h"
#include "Shared.h"
#include "Writer.h"

namespace troupe_turn_floor {

class IoThread {
 public:
  IoThread(Shared& s, Writer& w, int index, int listen_fd);
  ~IoThread();

  Inbox inbox;

  void run();  // this I/O thread: until Shared::stop

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

  // Connections and the event loop (IoThread.cpp).
  void watch(int fd, std::uint32_t events, int op = EPOLL_CTL_ADD);
  Conn* conn(int fd, std::uint64_t id);
  void accept_all();  // thread 0
  void adopt(int fd);
  void close_conn(Conn& c);
  void on_msg(Msg& m);
  void on_ready(Conn& c, std::uint32_t events);
  void send(Conn& c, std::string_view b);
  void flush(Conn& c);
  void fail(Conn& c, int status, std::string_view code, std::string_view message,
            bool close = false);
  void process(Conn& c);
  void keep_alive();

  // Routes, and what follows a durable request (IoThreadRoutes.cpp).
  void handle(Conn& c, const Request& r);
  void submit(Conn& c, std::unique_ptr<Pending> p);
  void create_character(Conn& c, const Request& r);
  void create_chat(Conn& c, const Request& r);
  void subscribe(Conn& c, const Request& r, Chat& ch);
  void post_message(Conn& c, const Request& r, Chat& ch);
  void on_durable(Pending& p);
  void publish(Pending& p);

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

}  // namespace troupe_turn_floor
