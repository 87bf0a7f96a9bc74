// HistoryPath: a chat's selected path (oldest first) as a prompt's history, with the prompt cost
// of each message (PromptBuilder::message_cost) once it has been counted, so a path that lives on
// from turn to turn in the HistoryCache is counted once per message, not once per turn.
//
// costs[i] belongs to messages[i] for i < costs.size() (never longer than `messages`); a shorter
// `costs` means the messages after it are not counted yet (a path read from the store starts
// with none). Whoever changes a
// message's content drops its cost. Thread-safety: a plain value.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "store/Records.h"

namespace troupe::chat {

struct HistoryPath {
  std::vector<store::Message> messages;
  std::vector<int> costs;

  // Counts what is not counted yet: `cost(content)` for each message past costs.size().
  template <typename Cost>
  void count_rest(const Cost& cost) {
    if (costs.size() > messages.size()) costs.resize(messages.size());
    costs.reserve(messages.size());
    for (std::size_t i = costs.size(); i < messages.size(); ++i) costs.push_back(cost(messages[i].content));
  }
  // Drops the oldest `n` messages (and their costs).
  void drop_front(std::size_t n) {
    messages.erase(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(n));
    costs.erase(costs.begin(), costs.begin() + static_cast<std::ptrdiff_t>(std::min(n, costs.size())));
  }
};

}  // namespace troupe::chat
