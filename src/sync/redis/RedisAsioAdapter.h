// RedisAsioAdapter: drives one hiredis async context from an Asio executor. hiredis asks for read
// and write readiness through its ev hooks (addRead/delRead/addWrite/delWrite/cleanup); the adapter
// waits on the socket with a posix::stream_descriptor and calls redisAsyncHandleRead/Write. No
// thread of its own: every wait completes on the given strand.
// Thread-safety: attach() and every hook run on the connection's strand only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <memory>

struct redisAsyncContext;

namespace troupe::sync::redis {

class RedisAsioAdapter : public std::enable_shared_from_this<RedisAsioAdapter> {
 public:
  // Installs the hooks on `ac`. The adapter lives until hiredis calls cleanup (context freed).
  static void attach(const boost::asio::any_io_executor& strand, redisAsyncContext* ac);

 private:
  RedisAsioAdapter(const boost::asio::any_io_executor& strand, redisAsyncContext* ac);
  static void add_read(void* p);
  static void del_read(void* p);
  static void add_write(void* p);
  static void del_write(void* p);
  static void cleanup(void* p);
  void arm_read();
  void arm_write();

  redisAsyncContext* ac_;
  boost::asio::posix::stream_descriptor socket_;
  bool want_read_ = false, want_write_ = false;
  bool read_pending_ = false, write_pending_ = false;
  std::shared_ptr<RedisAsioAdapter> self_;  // kept until cleanup
};

}  // namespace troupe::sync::redis
