#include "memory/service/Ranker.h"

#include <algorithm>
#include <cmath>

namespace troupe::memory {

double Ranker::recency(std::int64_t created_at_ms, std::int64_t now_ms) const {
  const double half_life_ms = std::max(1e-3, c_.recency_half_life_hours) * 3'600'000.0;
  const double age = static_cast<double>(std::max<std::int64_t>(0, now_ms - created_at_ms));
  return std::exp2(-age / half_life_ms);
}

int Ranker::tokens(const RetrievedMemory& m) {
  return static_cast<int>((m.text.size() + m.speaker.size() + 3) / 4) + 4;
}

std::vector<RetrievedMemory> Ranker::rank(std::vector<Candidate> candidates, std::int64_t now_ms,
                                          const std::unordered_set<store::Id>& window,
                                          bool for_prompt, std::size_t limit) const {
  std::vector<RetrievedMemory> all;
  all.reserve(candidates.size());
  for (auto& c : candidates) {
    RetrievedMemory m;
    m.memory_id = c.record.id;
    m.message_id = c.record.message_id;
    m.chat_id = c.record.chat_id;
    m.speaker = std::move(c.record.speaker);
    m.text = std::move(c.record.text);
    m.created_at = c.record.created_at;
    m.relevance = std::clamp(c.relevance, 0.0, 1.0);
    m.recency = recency(c.record.created_at, now_ms);
    m.importance = std::clamp(c.record.importance, 0.0, 1.0);
    m.score = c_.weight_relevance * m.relevance + c_.weight_recency * m.recency +
              c_.weight_importance * m.importance;
    m.in_window = window.count(m.message_id) != 0;
    all.push_back(std::move(m));
  }
  std::stable_sort(all.begin(), all.end(), [](const RetrievedMemory& a, const RetrievedMemory& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.memory_id > b.memory_id;
  });
  std::vector<RetrievedMemory> out;
  int budget = std::max(0, c_.token_budget);
  for (auto& m : all) {
    if (out.size() >= limit) break;
    if (for_prompt) {
      if (m.in_window) continue;
      const int cost = tokens(m);
      if (cost > budget) continue;
      budget -= cost;
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace troupe::memory
