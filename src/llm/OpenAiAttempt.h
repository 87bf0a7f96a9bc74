// OpenAiAttempt: one streaming chat-completion request over a fresh upstream connection: connect,
// send, check the status, then parse the event stream and forward content deltas to the sink.
// Reports whether a failure may be retried (only while nothing reached the sink).
// Thread-safety: not thread-safe; lives inside one OpenAiBackend::stream() call.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "core/Config.h"
#include "llm/Backend.h"
#include "llm/UpstreamConnection.h"
#include "llm/UpstreamUrl.h"

namespace troupe::llm {

class OpenAiAttempt {
 public:
  struct Outcome {
    Status status;
    bool retryable = false;
  };

  // `tls` is required for https URLs; all references must outlive the attempt.
  OpenAiAttempt(const LlmConfig& cfg, const UpstreamUrl& url, boost::asio::ssl::context* tls)
      : cfg_(cfg), url_(url), tls_(tls) {}

  // Must be awaited with throw_if_cancelled(false); never throws for I/O failures.
  boost::asio::awaitable<Outcome> run(const std::string& body, TokenSink& sink);

 private:
  using Parser = UpstreamConnection::ResponseParser;

  boost::asio::awaitable<Outcome> read_error_body(UpstreamConnection& conn, Parser& parser,
                                                  unsigned status);
  // `first_deadline`: the first token must arrive by then (counted from sending the request).
  boost::asio::awaitable<Outcome> stream_body(UpstreamConnection& conn, Parser& parser,
                                              TokenSink& sink,
                                              std::chrono::steady_clock::time_point first_deadline);

  const LlmConfig& cfg_;
  const UpstreamUrl& url_;
  boost::asio::ssl::context* tls_;
};

}  // namespace troupe::llm
