// SimReply: the deterministic text of one simulated in-character reply, produced word by word.
// The same Request always yields the same words (seeded from a hash of the messages). When the
// system prompt has a memories section and the last user message asks a question ('?'), the reply
// opens by quoting the first memory of the user ("I remember you said: ..."), so recall is
// visible without a language model.
// Thread-safety: not thread-safe; one per stream.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "llm/Backend.h"

namespace troupe::llm {

class SimReply {
 public:
  explicit SimReply(const Request& request);

  // The next token: one word, with a leading space unless it opens a fresh reply. The view stays
  // valid until the next call.
  std::string_view next();

  // Markers found in the last user message.
  bool fail_requested() const noexcept { return fail_; }
  bool slow_requested() const noexcept { return slow_; }

 private:
  std::uint64_t random();
  void start_sentence();
  void substitute(std::string_view word);

  std::uint64_t rng_;
  std::string char_name_;
  std::string user_name_;
  std::vector<std::string> echo_;   // words from the last user message
  std::vector<std::string> scene_;  // words from the scenario / description
  std::string_view sentence_;       // rest of the current template sentence
  std::size_t last_template_ = ~std::size_t{0};
  bool first_ = true;
  bool fail_ = false;
  bool slow_ = false;
  std::string token_;
  std::vector<std::string> recall_;  // opening words quoting a recalled memory
  std::size_t recall_at_ = 0;
};

}  // namespace troupe::llm
