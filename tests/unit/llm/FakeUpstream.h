// FakeUpstream: a scripted OpenAI-compatible test server on 127.0.0.1 (port 0) running in the
// test's io_context; each accepted request gets the next scripted Reply (the last one repeats).
// Thread-safety: single-threaded; use only from the thread running the io_context.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace troupe::llm::testing {

class FakeUpstream {
 public:
  using Clock = std::chrono::steady_clock;

  enum class Kind {
    stream,       // 200, chunked: `tokens` content chunks, a finish chunk, [DONE]
    error_chunk,  // 200: `tokens` chunks, then {"error":{"message":"model overloaded",...}}
    garbage,      // 200: `tokens` chunks, then data that is not JSON
    no_headers,   // reads the request, answers nothing, waits for the client to close
    stall,        // 200: `tokens` chunks, then waits for the client to close
    drop,         // 200: `tokens` chunks, then closes the socket mid-body
    status,       // `status` with a JSON error body of `body_bytes` (0 = short message)
    raw,          // writes `raw` verbatim, then closes
  };

  struct Reply {
    Kind kind = Kind::stream;
    int tokens = 3;
    unsigned status = 500;
    std::size_t body_bytes = 0;
    std::string raw;
    std::chrono::milliseconds token_gap{0};
  };

  struct Seen {
    std::string target;
    std::string authorization;
    std::string content_type;
    std::string body;
  };

  explicit FakeUpstream(boost::asio::io_context& io);
  ~FakeUpstream();

  void script(std::vector<Reply> replies) { script_ = std::move(replies); }
  std::string base_url() const;  // http://127.0.0.1:PORT/v1
  unsigned short port() const { return port_; }
  const std::vector<Seen>& requests() const { return seen_; }
  // When the server noticed a client closing a connection it was holding open (stall kinds).
  std::optional<Clock::time_point> client_closed_at() const { return closed_at_; }
  // Called once the server notices such a close.
  std::function<void()> on_client_close;

  // Closes the listener and every open connection so the io_context can run out of work.
  void stop();

  // A token's SSE event as the fake sends it.
  static std::string token_event(int i);

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(std::shared_ptr<boost::beast::tcp_stream> stream);
  boost::asio::awaitable<bool> send(boost::beast::tcp_stream& s, std::string bytes);
  boost::asio::awaitable<void> wait_close(boost::beast::tcp_stream& s);
  const Reply& next_reply();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::vector<Reply> script_{Reply{}};
  std::size_t served_ = 0;
  std::vector<Seen> seen_;
  std::vector<std::weak_ptr<boost::beast::tcp_stream>> open_;
  std::optional<Clock::time_point> closed_at_;
  bool stopped_ = false;
};

}  // namespace troupe::llm::testing
