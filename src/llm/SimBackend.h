// SimBackend: the clearly labelled simulated character ("sim"). Replies in character with exactly
// sim_reply_tokens words, deterministic per request, paced by sim_first_token_ms and
// sim_token_delay_ms (0 = no timers, only a yield every few tokens). Markers in the last user
// message: [sim:fail] fails with Errc::upstream after a few tokens, [sim:slow] paces 200 ms/token.
// Thread-safety: stateless after construction; stream() may run concurrently on any executors.
#pragma once

#include "core/Config.h"
#include "llm/Backend.h"

namespace troupe::llm {

class SimBackend final : public Backend {
 public:
  explicit SimBackend(const LlmConfig& config);

  std::string_view name() const override { return "sim"; }
  boost::asio::awaitable<Status> stream(const Request& request, TokenSink& sink) override;

  // Tokens delivered before a [sim:fail] failure; yields happen every kYieldEvery tokens.
  static constexpr int kFailAfter = 3;
  static constexpr int kYieldEvery = 16;
  static constexpr std::uint32_t kSlowTokenMs = 200;

 private:
  boost::asio::awaitable<Status> run(const Request& request, TokenSink& sink);

  std::uint32_t first_token_ms_;
  std::uint32_t token_delay_ms_;
  int reply_tokens_;
};

}  // namespace troupe::llm
