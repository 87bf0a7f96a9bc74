// CoalescingStream: the layer under a WebSocket stream that turns many small frame writes into
// one socket write. While corked (the WebSocket writer holds a burst of queued events), every
// write the WebSocket layer makes is appended to a pending buffer and completes at once; uncork()
// hands the whole burst to the socket in one write. Uncorked writes (handshake, pings, pongs the
// WebSocket layer answers by itself, close frames) start their socket write at once, behind
// whatever is already pending, so every byte leaves in the order it was written. At most one
// socket write is in flight; a failed write fails every later one. The pending buffer is bounded
// by the writer (see pending_bytes and drain): it never holds more than one burst.
// Thread-safety: not thread-safe. Everything runs on the connection's strand (the WebSocket
// layer's own writes included), and the completions of its own socket writes run on the socket's
// io_context, which one thread runs (server/Server), so they never overlap the strand's work.
#pragma once

#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace troupe::server {

class CoalescingStream {
 public:
  using next_layer_type = boost::beast::tcp_stream;
  using executor_type = next_layer_type::executor_type;

  explicit CoalescingStream(boost::beast::tcp_stream s);
  CoalescingStream(CoalescingStream&&) = default;

  executor_type get_executor() { return next_.get_executor(); }
  next_layer_type& next_layer() { return next_; }

  void cork() { state_->corked = true; }
  // Ends the burst: its bytes go to the socket in one write (after the one in flight, if any).
  void uncork();
  // Bytes written but not yet handed to the socket, and whether a socket write is in flight.
  std::size_t pending_bytes() const { return state_->pending.size(); }
  // Completes when nothing is pending or in flight (or the socket failed): the writer's
  // back-pressure, so a slow client holds at most one burst in memory besides the one in flight.
  boost::asio::awaitable<boost::system::error_code> drain();

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return next_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          boost::system::error_code ec = state_->error;
          std::size_t n = 0;
          if (!ec) n = append(b);
          auto ex = boost::asio::get_associated_executor(handler, get_executor());
          boost::asio::post(ex, boost::asio::append(std::move(handler), ec, n));
        },
        token, buffers);
  }

  // Appends one whole unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2: FIN + opcode 1,
  // the payload length in 7, 16 or 64 bits, no mask, as a server sends) for `payload`, which must
  // be valid UTF-8. Only while corked, and only between the WebSocket layer's own writes: each of
  // those (pong, ping, close) is appended whole by one async_write_some, so a frame appended here
  // never lands inside one. Returns the stream's error, if it has failed.
  boost::system::error_code write_text_frame(std::string_view payload);

  // Flushes what is pending synchronously, for the blocking teardown.
  void flush_blocking(boost::system::error_code& ec);

 private:
  struct State {
    explicit State(const executor_type& ex) : idle(ex) {}
    std::string pending;   // appended while a write is in flight or while corked
    std::string inflight;  // the buffer of the write in flight
    bool writing = false;
    bool corked = false;
    boost::system::error_code error;
    boost::asio::steady_timer idle;  // cancelled when a write ends: wakes drain()
  };

  template <class ConstBuffers>
  std::size_t append(const ConstBuffers& b) {
    std::size_t n = 0;
    for (auto it = boost::asio::buffer_sequence_begin(b); it != boost::asio::buffer_sequence_end(b); ++it) {
      boost::asio::const_buffer cb(*it);
      state_->pending.append(static_cast<const char*>(cb.data()), cb.size());
      n += cb.size();
    }
    if (!state_->corked) start_write();
    return n;
  }
  void start_write();
  static void on_written(const std::shared_ptr<State>& st, next_layer_type* next,
                         boost::system::error_code ec);

  next_layer_type next_;
  std::shared_ptr<State> state_;
};

// Closing handshake support for the WebSocket layer: flush, then tear the TCP stream down.
void teardown(boost::beast::role_type role, CoalescingStream& s, boost::system::error_code& ec);

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, CoalescingStream& s, TeardownHandler&& handler) {
  // The close frame was written uncorked, so its socket write has started; tearing the stream
  // down (shutdown of the sending side, then read to EOF) happens behind it in the kernel's order.
  using boost::beast::async_teardown;
  async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
}

}  // namespace troupe::server
