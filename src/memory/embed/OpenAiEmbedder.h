// OpenAiEmbedder: embeddings from any OpenAI-compatible endpoint (llama.cpp server, Ollama,
// OpenAI): POST {base_url}/embeddings with {"model","input":[...]} -> data[].embedding. Texts are
// sent in requests of at most `batch`; each request has a connect and a total timeout and goes
// through a CircuitBreaker (open -> Errc::unavailable without a request). Replies are validated
// (row count, consistent dimensions, finite numbers) and rows L2-normalised. With dims = 0 the
// dimensions are learnt from the first reply (probe() does that up front). Blocking HTTP/1.1 over
// plain TCP (http:// only) on a private io_context per request.
// Thread-safety: embed()/probe() may be called from several compute-pool threads at once (never an
// I/O thread: they block). info().dims is written once, by the first reply, when it was 0; read
// it after probe() has succeeded.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/CircuitBreaker.h"
#include "core/Clock.h"
#include "memory/Embedder.h"

namespace troupe::memory {

struct OpenAiEmbedderOptions {
  std::string base_url;          // e.g. "http://127.0.0.1:8081/v1"
  std::string api_key;           // "Authorization: Bearer <key>" when not empty
  std::string model;
  int dims = 0;                  // 0 = learn from the first reply
  int timeout_ms = 10000;        // total per request (connect + send + reply)
  int connect_timeout_ms = 2000;
  int batch = 64;                // texts per request, 1..2048
  std::size_t max_text_bytes = 16384;       // longer texts are cut (at a UTF-8 boundary)
  std::size_t max_response_bytes = 64 << 20;
  CircuitBreakerOptions breaker{5, 30000};
  std::string name;              // info().name; default "openai:<model>"
};

class OpenAiEmbedder final : public Embedder {
 public:
  // Checks the options (URL, model, limits); does not contact the endpoint.
  static Result<std::unique_ptr<OpenAiEmbedder>> create(OpenAiEmbedderOptions opts, const Clock& clock);

  const EmbedderInfo& info() const override { return info_; }
  // Texts that are empty or blank give zero rows without a request. With dims still unknown, a
  // probe request runs first and `out` must then match the learnt dims.
  Status embed(std::span<const std::string_view> texts, std::span<float> out) override;
  // Embeds one short text to check the endpoint and learn the dimensions.
  Status probe();

  const CircuitBreaker& breaker() const { return breaker_; }

 private:
  struct Target {
    std::string host, port, path, host_header;
  };
  OpenAiEmbedder(OpenAiEmbedderOptions opts, Target target, const Clock& clock);
  // One request for texts (all non-blank); writes texts.size() normalised rows to `rows`.
  Status request(std::span<const std::string_view> texts, std::vector<float>& rows);
  Result<std::string> post(const std::string& body);
  Status parse_reply(const std::string& body, std::size_t n, std::vector<float>& rows);
  int dims() const;

  OpenAiEmbedderOptions opts_;
  Target target_;
  CircuitBreaker breaker_;
  mutable std::mutex dims_mu_;
  EmbedderInfo info_;
};

}  // namespace troupe::memory
