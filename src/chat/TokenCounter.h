// TokenCounter: how many model tokens a text costs, behind an interface so a real tokenizer can
// replace the estimate. EstimateTokenCounter counts runs of letters/digits as ceil(len/4) tokens
// (at least 1) and every other non-space character as one token; on English prose it stays within
// about ±20% of BPE tokenizers (GPT/Llama) and over-counts code and non-Latin scripts, which errs on
// the side of a shorter prompt.
// Thread-safety: implementations are stateless or internally synchronised; any thread.
#pragma once

#include <string_view>

namespace troupe::chat {

class TokenCounter {
 public:
  virtual ~TokenCounter() = default;
  virtual int count(std::string_view text) const = 0;
};

class EstimateTokenCounter final : public TokenCounter {
 public:
  int count(std::string_view text) const override;
};

}  // namespace troupe::chat
