// OpenAiBackend: streams chat completions from an OpenAI-compatible server (POST
// {base_url}/chat/completions with stream:true) over HTTP/1.1 or HTTPS, forwarding each content
// delta as it arrives; connect / first-token / idle timeouts, retries only before the first token,
// and cancellation that closes the upstream socket at once.
// Thread-safety: stream() may run concurrently from any number of coroutines on any executors;
// each call runs entirely on its awaiting coroutine's executor.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include "core/Config.h"
#include "llm/Backend.h"
#include "llm/UpstreamUrl.h"

namespace boost::asio::ssl {
class context;
}

namespace troupe::llm {

class OpenAiBackend final : public Backend {
 public:
  explicit OpenAiBackend(LlmConfig config);
  ~OpenAiBackend() override;

  std::string_view name() const override { return "openai"; }
  boost::asio::awaitable<Status> stream(const Request& request, TokenSink& sink) override;

  // Upstream requests started (first tries and retries) since construction.
  std::uint64_t attempts() const noexcept { return attempts_.load(std::memory_order_relaxed); }
  // Not ok when llm.base_url is unusable; stream() then fails with this error.
  const Status& config_status() const noexcept { return config_status_; }

 private:
  boost::asio::awaitable<Status> run(const Request& request, TokenSink& sink);

  LlmConfig cfg_;
  Status config_status_;
  std::optional<UpstreamUrl> url_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::atomic<std::uint64_t> attempts_{0};
};

}  // namespace troupe::llm
