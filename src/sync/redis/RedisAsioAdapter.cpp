#include "sync/redis/RedisAsioAdapter.h"

#include <hiredis/async.h>

#include <boost/asio/bind_executor.hpp>

namespace troupe::sync::redis {

namespace asio = boost::asio;

RedisAsioAdapter::RedisAsioAdapter(const asio::any_io_executor& strand, redisAsyncContext* ac)
    : ac_(ac), socket_(strand, ac->c.fd) {}

void RedisAsioAdapter::attach(const asio::any_io_executor& strand, redisAsyncContext* ac) {
  auto a = std::shared_ptr<RedisAsioAdapter>(new RedisAsioAdapter(strand, ac));
  a->self_ = a;
  ac->ev.data = a.get();
  ac->ev.addRead = &RedisAsioAdapter::add_read;
  ac->ev.delRead = &RedisAsioAdapter::del_read;
  ac->ev.addWrite = &RedisAsioAdapter::add_write;
  ac->ev.delWrite = &RedisAsioAdapter::del_write;
  ac->ev.cleanup = &RedisAsioAdapter::cleanup;
}

void RedisAsioAdapter::add_read(void* p) {
  auto* a = static_cast<RedisAsioAdapter*>(p);
  a->want_read_ = true;
  a->arm_read();
}

void RedisAsioAdapter::del_read(void* p) { static_cast<RedisAsioAdapter*>(p)->want_read_ = false; }

void RedisAsioAdapter::add_write(void* p) {
  auto* a = static_cast<RedisAsioAdapter*>(p);
  a->want_write_ = true;
  a->arm_write();
}

void RedisAsioAdapter::del_write(void* p) { static_cast<RedisAsioAdapter*>(p)->want_write_ = false; }

void RedisAsioAdapter::cleanup(void* p) {
  // The context is being freed (hiredis closes the fd): stop touching it and drop the socket
  // without closing it. Pending waits complete with operation_aborted and see ac_ == nullptr.
  auto* a = static_cast<RedisAsioAdapter*>(p);
  a->ac_ = nullptr;
  a->want_read_ = a->want_write_ = false;
  boost::system::error_code ec;
  a->socket_.cancel(ec);
  (void)a->socket_.release();
  auto keep = std::move(a->self_);  // may destroy the adapter when this scope ends
}

void RedisAsioAdapter::arm_read() {
  if (read_pending_ || !ac_) return;
  read_pending_ = true;
  socket_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       self->read_pending_ = false;
                       if (ec || !self->ac_ || !self->want_read_) return;
                       redisAsyncHandleRead(self->ac_);  // may free the context
                       if (self->ac_ && self->want_read_) self->arm_read();
                     });
}

void RedisAsioAdapter::arm_write() {
  if (write_pending_ || !ac_) return;
  write_pending_ = true;
  socket_.async_wait(asio::posix::stream_descriptor::wait_write,
                     [self = shared_from_this()](boost::system::error_code ec) {
                       self->write_pending_ = false;
                       if (ec || !self->ac_ || !self->want_write_) return;
                       redisAsyncHandleWrite(self->ac_);  // may free the context
                       if (self->ac_ && self->want_write_) self->arm_write();
                     });
}

}  // namespace troupe::sync::redis
