// UpstreamConnection: one HTTP/1.1 connection (plain TCP or TLS with SNI and peer verification)
// to the upstream, used for one request. Every operation takes a timeout or deadline and follows
// the awaiting coroutine's cancellation (it then completes with operation_aborted).
// Thread-safety: not thread-safe; owned by the one coroutine that streams the request.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "llm/UpstreamUrl.h"

namespace troupe::llm {

class UpstreamConnection {
 public:
  using Clock = std::chrono::steady_clock;
  using ErrorCode = boost::system::error_code;
  using ResponseParser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;
  using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

  // `tls` must be non-null for https URLs and outlive the connection.
  UpstreamConnection(boost::asio::any_io_executor ex, const UpstreamUrl& url,
                     boost::asio::ssl::context* tls);
  ~UpstreamConnection();
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  // Resolves the host (skipped for IP literals), connects and, for https, handshakes; the whole
  // step must finish within `timeout` (else beast::error::timeout).
  boost::asio::awaitable<ErrorCode> connect(Clock::duration timeout);
  boost::asio::awaitable<ErrorCode> write(const HttpRequest& req, Clock::duration timeout);
  boost::asio::awaitable<ErrorCode> read_header(ResponseParser& parser, Clock::time_point deadline);
  // Reads body bytes into `buf` (at most `size`); returns how many arrived. Completion of the
  // body shows as parser.is_done().
  boost::asio::awaitable<ErrorCode> read_body(ResponseParser& parser, char* buf, std::size_t size,
                                              Clock::time_point deadline, std::size_t& got);
  // Closes the socket at once (no TLS close_notify); idempotent.
  void close() noexcept;

 private:
  boost::asio::awaitable<ErrorCode> resolve_and_connect(Clock::time_point deadline);
  boost::beast::tcp_stream& tcp();

  boost::asio::any_io_executor ex_;
  const UpstreamUrl& url_;
  boost::asio::ssl::context* tls_ctx_;
  std::optional<boost::beast::tcp_stream> plain_;
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace troupe::llm
