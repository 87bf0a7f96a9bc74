// OpenAiChunkDecoder: turns OpenAI chat-completion stream events (SSE) into text deltas, the end
// marker and upstream errors.
// Thread-safety: not thread-safe; one decoder per stream.
#pragma once

#include <string>
#include <string_view>

#include "core/Result.h"
#include "llm/SseParser.h"

namespace troupe::llm {

struct ChunkDelta {
  std::string text;   // content to forward (may be empty: role-only or usage chunks)
  bool done = false;  // `data: [DONE]`
};

class OpenAiChunkDecoder {
 public:
  // Decodes one event. Errc::upstream for `{"error":...}` chunks (with the upstream's message),
  // `event: error`, and anything that is not a JSON object ("garbage from upstream").
  Result<ChunkDelta> decode(const SseEvent& ev);

  // The last non-null finish_reason seen ("stop", "length", ...); empty if none yet.
  const std::string& finish_reason() const noexcept { return finish_reason_; }
  bool finished() const noexcept { return done_ || !finish_reason_.empty(); }

 private:
  std::string finish_reason_;
  bool done_ = false;
};

}  // namespace troupe::llm
