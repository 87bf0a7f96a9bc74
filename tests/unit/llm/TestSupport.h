// Test helpers for llm/: a collecting TokenSink and a driver that runs one stream() to completion
// on a test io_context.
// Thread-safety: single-threaded test code.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "llm/Backend.h"

namespace troupe::llm::testing {

class CollectSink final : public TokenSink {
 public:
  void on_token(std::string_view text) override {
    tokens.emplace_back(text);
    if (after_token) after_token();
  }
  std::string text() const {
    std::string out;
    for (const auto& t : tokens) out += t;
    return out;
  }

  std::vector<std::string> tokens;
  std::function<void()> after_token;
};

struct RunOptions {
  std::function<void()> on_done;                       // runs when stream() completed
  boost::asio::cancellation_signal* signal = nullptr;  // bound as the coroutine's slot
  std::chrono::milliseconds limit{20'000};
};

// Runs backend.stream() on `io` until the io_context runs out of work (or `limit`).
inline Status run_stream(boost::asio::io_context& io, Backend& backend, const Request& request,
                         TokenSink& sink, RunOptions opt = {}) {
  std::optional<Status> result;
  std::exception_ptr thrown;
  auto done = [&](std::exception_ptr e, Status st) {
    thrown = e;
    result = std::move(st);
    if (opt.on_done) opt.on_done();
  };
  if (opt.signal != nullptr) {
    boost::asio::co_spawn(io, backend.stream(request, sink),
                          boost::asio::bind_cancellation_slot(opt.signal->slot(), done));
  } else {
    boost::asio::co_spawn(io, backend.stream(request, sink), done);
  }
  io.restart();
  io.run_for(opt.limit);
  EXPECT_FALSE(thrown) << "stream() threw";
  if (!result) {
    ADD_FAILURE() << "stream() did not finish in time";
    return make_error(Errc::internal, "test: not finished");
  }
  return *result;
}

inline Request sample_request(std::string user_text = "Tell me about the old lighthouse") {
  Request r;
  r.char_name = "Mira";
  r.user_name = "Sam";
  r.messages = {
      {"system", "You are Mira, a keeper. Scenario: a stormy harbour town with a lighthouse."},
      {"user", std::move(user_text)}};
  return r;
}

}  // namespace troupe::llm::testing
