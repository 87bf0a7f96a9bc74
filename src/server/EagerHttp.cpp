#include "server/EagerHttp.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>

namespace troupe::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// A SyncWriteStream over a socket's descriptor whose writes never block.
class DontWaitSocket {
 public:
  explicit DontWaitSocket(int fd) : fd_(fd) {}

  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, boost::system::error_code& ec) {
    constexpr std::size_t kMaxIov = 16;
    iovec iov[kMaxIov];
    std::size_t n = 0;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers) && n < kMaxIov; ++it) {
      asio::const_buffer b(*it);
      if (b.size() == 0) continue;
      iov[n].iov_base = const_cast<void*>(b.data());
      iov[n].iov_len = b.size();
      ++n;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = n;
    for (;;) {
      const ssize_t sent = ::sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent >= 0) {
        ec = {};
        return static_cast<std::size_t>(sent);
      }
      if (errno == EINTR) continue;
      ec = (errno == EAGAIN || errno == EWOULDBLOCK) ? boost::system::error_code(asio::error::would_block)
                                                      : boost::system::error_code(errno, boost::system::system_category());
      return 0;
    }
  }
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers) {
    boost::system::error_code ec;
    const std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  int fd_;
};

}  // namespace

boost::system::error_code EagerHttp::parse_buffered(http::request_parser<http::string_body>& parser,
                                                     beast::flat_buffer& buffer) {
  beast::error_code ec;
  while (!parser.is_done()) {
    if (buffer.size() == 0) return http::error::need_more;
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec) return ec;  // need_more included: the rest comes from the socket
    if (used == 0) return http::error::need_more;
  }
  return {};
}

boost::system::error_code EagerHttp::write_now(asio::ip::tcp::socket& socket, ResponseSerializer& sr) {
  DontWaitSocket s(socket.native_handle());
  beast::error_code ec;
  http::write(s, sr, ec);
  return ec;
}

}  // namespace troupe::server
