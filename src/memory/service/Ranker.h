// Ranker: final order of retrieval candidates. score = w_rel * relevance + w_rec * recency +
// w_imp * importance, recency = 2^(-age / half-life). For a prompt, memories already in the
// window are skipped and the best ones are taken, in order, while they fit the token budget
// (one that does not fit is passed over for a shorter one); for a listing they are flagged.
// Thread-safety: stateless after construction; any thread.
#pragma once

#include <cstdint>
#include <unordered_set>
#include <vector>

#include "core/Config.h"
#include "memory/Memory.h"

namespace troupe::memory {

struct Candidate {
  store::MemoryRecord record;
  double relevance = 0;
};

class Ranker {
 public:
  explicit Ranker(const MemoryConfig& c) : c_(c) {}

  double recency(std::int64_t created_at_ms, std::int64_t now_ms) const;
  std::vector<RetrievedMemory> rank(std::vector<Candidate> candidates, std::int64_t now_ms,
                                    const std::unordered_set<store::Id>& window, bool for_prompt,
                                    std::size_t limit) const;
  // Token estimate of a memory line in the prompt (about 4 bytes per token, plus framing).
  static int tokens(const RetrievedMemory& m);

 private:
  const MemoryConfig& c_;
};

}  // namespace troupe::memory
