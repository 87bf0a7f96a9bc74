#include "IoThread.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <mutex>

#include "Common.h"
#include "Text.h"

namespace troupe_turn_floor {

IoThread::IoThread(Shared& s, Writer& w, int index, int listen_fd)
    : s_(s), w_(w), index_(index), listen_fd_(listen_fd) {
  watch(inbox.fd(), EPOLLIN);
  if (listen_fd_ >= 0) watch(listen_fd_, EPOLLIN);
}

IoThread::~IoThread() {
  for (auto& c : conns_)
    if (c) close(c->fd);
  close(ep_);
}

void IoThread::run() {
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

void IoThread::watch(int fd, std::uint32_t events, int op) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  epoll_ctl(ep_, op, fd, &ev);
}

// This thread's connection on fd; with id != 0, only if it is still that connection.
IoThread::Conn* IoThread::conn(int fd, std::uint64_t id) {
  const auto i = static_cast<std::size_t>(fd);
  if (fd < 0 || i >= conns_.size() || !conns_[i] || (id != 0 && conns_[i]->id != id))
    return nullptr;
  return conns_[i].get();
}

void IoThread::accept_all() {  // thread 0
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

void IoThread::adopt(int fd) {
  if (static_cast<std::size_t>(fd) >= conns_.size())
    conns_.resize(static_cast<std::size_t>(fd) + 64);
  auto& c = conns_[static_cast<std::size_t>(fd)] = std::make_unique<Conn>();
  c->fd = fd;
  c->id = ++next_conn_id_;
  c->last_write_ms = now_ms_;
  watch(fd, EPOLLIN);
}

void IoThread::close_conn(Conn& c) {
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

void IoThread::on_msg(Msg& m) {
  if (m.kind == Msg::Kind::adopt) return adopt(m.fd);
  if (m.kind == Msg::Kind::done) return on_durable(*m.pending);
  if (Conn* c = conn(m.fd, m.conn_id)) {  // deliver: a turn published by another thread
    send(*c, *m.bytes);
    if (c->dead) close_conn(*c);
  }
}

void IoThread::on_ready(Conn& c, std::uint32_t events) {
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
void IoThread::send(Conn& c, std::string_view b) {
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
  if (c.out.size() - c.out_off > kMaxOutput) return void(c.dead = true);  // a reader too far behind
  if (!c.polling_out) watch(c.fd, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD), c.polling_out = true;
}

void IoThread::flush(Conn& c) {
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

void IoThread::fail(Conn& c, int status, std::string_view code, std::string_view message,
                    bool close) {
  std::string body;
  add(body, "{\"error\":{\"code\":\"", code, "\",\"message\":\"", json_escape(message), "\"}}");
  send(c, http_response(status, body, close));
  c.close_after |= close;
}

// Answers the complete requests in the buffer, up to a durable one (on_durable goes on).
void IoThread::process(Conn& c) {
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

// Once a second: a comment on every event stream that sent nothing for kKeepAliveMs.
void IoThread::keep_alive() {
  for (auto& c : conns_) {
    if (!c || !c->sse || !c->drained() || now_ms_ - c->last_write_ms < kKeepAliveMs) continue;
    send(*c, ": keep-alive\n\n");
    if (c->dead) close_conn(*c);
  }
}

}  // namespace troupe_turn_floor
