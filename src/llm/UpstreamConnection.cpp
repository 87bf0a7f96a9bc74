#include "llm/UpstreamConnection.h"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>

namespace troupe::llm {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using ErrorCode = UpstreamConnection::ErrorCode;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

using ResolveChannel =
    asio::experimental::concurrent_channel<void(ErrorCode, tcp::resolver::results_type)>;

}  // namespace

UpstreamConnection::UpstreamConnection(asio::any_io_executor ex, const UpstreamUrl& url,
                                       asio::ssl::context* tls)
    : ex_(std::move(ex)), url_(url), tls_ctx_(tls) {
  if (url_.tls && tls_ctx_ != nullptr) {
    tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex_, *tls_ctx_);
  } else {
    plain_.emplace(ex_);
  }
}

UpstreamConnection::~UpstreamConnection() { close(); }

beast::tcp_stream& UpstreamConnection::tcp() {
  return tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
}

void UpstreamConnection::close() noexcept {
  ErrorCode ignored;
  auto& sock = tcp().socket();
  if (!sock.is_open()) return;
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  sock.close(ignored);
}

asio::awaitable<ErrorCode> UpstreamConnection::resolve_and_connect(Clock::time_point deadline) {
  ErrorCode ec;
  const auto address = asio::ip::make_address(url_.host, ec);
  if (!ec) {
    unsigned short port = 0;
    const auto* end = url_.port.data() + url_.port.size();
    if (std::from_chars(url_.port.data(), end, port).ptr != end) {
      co_return asio::error::make_error_code(asio::error::invalid_argument);
    }
    tcp().expires_at(deadline);
    auto [cec] = co_await tcp().async_connect(tcp::endpoint(address, port), kTuple);
    co_return cec;
  }
  // getaddrinfo cannot be interrupted: the lookup reports into a channel that outlives us, and we
  // wait for the first of the channel, the deadline, or cancellation.
  tcp::resolver resolver(ex_);
  auto channel = std::make_shared<ResolveChannel>(ex_, 1);
  resolver.async_resolve(url_.host, url_.port,
                         [channel](ErrorCode e, tcp::resolver::results_type r) {
                           channel->try_send(e, std::move(r));
                         });
  asio::steady_timer timer(ex_, deadline);
  auto [order, rec, results, tec] =
      co_await asio::experimental::make_parallel_group(channel->async_receive(asio::deferred),
                                                       timer.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  if (order[0] == 1) {
    co_return tec ? asio::error::make_error_code(asio::error::operation_aborted)
                  : ErrorCode(beast::error::timeout);
  }
  if (rec) co_return rec;
  tcp().expires_at(deadline);
  auto [cec, endpoint] = co_await tcp().async_connect(results, kTuple);
  (void)endpoint;
  co_return cec;
}

asio::awaitable<ErrorCode> UpstreamConnection::connect(Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  ErrorCode ec = co_await resolve_and_connect(deadline);
  if (ec || !url_.tls) co_return ec;
  if (!tls_) co_return asio::error::make_error_code(asio::error::invalid_argument);
  ErrorCode not_ip;
  asio::ip::make_address(url_.host, not_ip);
  if (not_ip && !SSL_set_tlsext_host_name(tls_->native_handle(), url_.host.c_str())) {
    co_return ErrorCode(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
  }
  tls_->set_verify_mode(asio::ssl::verify_peer);
  tls_->set_verify_callback(asio::ssl::host_name_verification(url_.host));
  tcp().expires_at(deadline);
  auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, kTuple);
  co_return hec;
}

asio::awaitable<ErrorCode> UpstreamConnection::write(const HttpRequest& req,
                                                     Clock::duration timeout) {
  tcp().expires_after(timeout);
  if (tls_) {
    auto [ec, n] = co_await http::async_write(*tls_, req, kTuple);
    (void)n;
    co_return ec;
  }
  auto [ec, n] = co_await http::async_write(*plain_, req, kTuple);
  (void)n;
  co_return ec;
}

asio::awaitable<ErrorCode> UpstreamConnection::read_header(ResponseParser& parser,
                                                           Clock::time_point deadline) {
  tcp().expires_at(deadline);
  if (tls_) {
    auto [ec, n] = co_await http::async_read_header(*tls_, buffer_, parser, kTuple);
    (void)n;
    co_return ec;
  }
  auto [ec, n] = co_await http::async_read_header(*plain_, buffer_, parser, kTuple);
  (void)n;
  co_return ec;
}

asio::awaitable<ErrorCode> UpstreamConnection::read_body(ResponseParser& parser, char* buf,
                                                         std::size_t size,
                                                         Clock::time_point deadline,
                                                         std::size_t& got) {
  auto& body = parser.get().body();
  body.data = buf;
  body.size = size;
  tcp().expires_at(deadline);
  ErrorCode ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await http::async_read_some(*tls_, buffer_, parser, kTuple);
  } else {
    std::tie(ec, std::ignore) = co_await http::async_read_some(*plain_, buffer_, parser, kTuple);
  }
  if (ec == http::error::need_buffer) ec = {};
  got = size - body.size;
  co_return ec;
}

}  // namespace troupe::llm
