// QuoteStripper: the part of a reply that is the character's own words, for storing the reply as a
// memory. A reply that quotes memories it was given ("I remember you said: ...") would otherwise
// store the quote again as a new memory of the assistant, and each recall would copy old facts
// into new memories. Word runs of the reply that repeat a memory of its prompt (at least
// kMinQuoteWords words, or a whole memory of at least kMinWholeWords words) are cut, together
// with a short lead-in ending in ':' just before them.
// Thread-safety: stateless; call from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chat/PromptBuilder.h"

namespace troupe::chat {

class QuoteStripper {
 public:
  static constexpr std::size_t kMinQuoteWords = 4;
  static constexpr std::size_t kMinWholeWords = 3;
  static constexpr std::size_t kMaxLeadInWords = 8;
  // Above this many word comparisons (reply words × memory words) a memory is not looked for.
  static constexpr std::size_t kMaxComparisons = 4'000'000;

  // The reply without the quoted runs; "" when nothing of its own is left.
  static std::string strip(std::string_view reply, const std::vector<RecalledMemory>& memories);
};

}  // namespace troupe::chat
