// SimBackend: the clearly labelled simulated character ("sim"). Replies in character with exactly
// sim_reply_tokens words, deterministic per request, paced by sim_first_token_ms and
// sim_token_delay_ms (0 = no timers: it yields to other work once it has run for kSlice). Markers in the last user
// message: [sim:fail] fails with Errc::upstream after a few tokens, [sim:slow] paces 200 ms/token.
// Thread-safety: stateless after construction; stream() may run concurrently on any executors.
#pragma once

#include <chrono>

#include "core/Config.h"
#include "llm/Backend.h"

namespace troupe::llm {

class SimBackend final : public Backend {
 public:
  explicit SimBackend(const LlmConfig& config);

  std::string_view name() const override { return "sim"; }
  boost::asio::awaitable<Status> stream(const Request& request, TokenSink& sink) override;

  // Tokens delivered before a [sim:fail] failure.
  static constexpr int kFailAfter = 3;
  // Without delays a reply runs on until it has taken kSlice of its thread, then yields (the
  // clock is read every kCheckEvery tokens): a short reply is written in one go, a long one
  // leaves room for other work.
  static constexpr std::chrono::microseconds kSlice{200};
  static constexpr int kCheckEvery = 16;
  static constexpr std::uint32_t kSlowTokenMs = 200;

 private:
  boost::asio::awaitable<Status> run(const Request& request, TokenSink& sink);

  std::uint32_t first_token_ms_;
  std::uint32_t token_delay_ms_;
  int reply_tokens_;
};

}  // namespace troupe::llm
