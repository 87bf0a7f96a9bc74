// PromptBuilder: turns a character, a persona and the selected history into an llm::Request:
// system prompt, card description/personality/scenario, persona, example dialogues (<START>
// blocks), history, post-history instructions, macros expanded, and a token budget
// (context size - reply size) that drops the oldest history first, then example dialogues.
// Recalled memories go into a section of the system prompt within their own reserve.
// Thread-safety: stateless after construction; build() may run on any thread concurrently.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "chat/TokenCounter.h"
#include "llm/Backend.h"
#include "store/Records.h"

namespace troupe::chat {

struct PromptSettings {
  std::string default_system_prompt;
  int context_size = 8192;
  int max_tokens = 300;
  double temperature = 0.8;
  double top_p = 0.95;
};

struct RecalledMemory {
  std::string speaker;  // "user" | "assistant" | "system"
  std::string text;
};

// Header of the memories section in the system prompt (the simulator looks for it).
inline constexpr const char* kMemoriesHeader = "[Memories of earlier conversations]";

// The part of a prompt that depends only on the character, the persona and the user's name (and
// the builder's settings): the system section before examples and memories, the example
// dialogues and the post-history instructions, macros expanded, with their token costs. Made by
// PromptBuilder::prefix() and reused for every turn with the same character, persona and name.
struct PromptPrefix {
  std::string user_name;               // the name it was made for
  std::string system;                  // system prompt, description, personality, scenario, persona
  int system_cost = 0;                 // message_cost(system)
  std::vector<std::string> examples;   // <START> blocks, expanded and trimmed
  std::vector<int> example_costs;      // each block's cost in the prompt
  std::string post;                    // post-history instructions ("" for none)
  int post_cost = 0;                   // message_cost(post), 0 for none
};

struct PromptInput {
  const store::Character* character = nullptr;
  const store::Persona* persona = nullptr;  // may be null
  std::string user_name;                     // persona name, else the account name
  std::vector<store::Message> history;       // selected path, oldest first
  bool continue_last = false;                // last history message is the reply being extended
  // Character memory: tokens kept free for the memories section (history gets the rest), and
  // the recalled memories, best first (as many as fit the reserve go in).
  int memory_reserve = 0;
  std::vector<RecalledMemory> memories;
  // message_cost of history[i] for i < history_costs.size() (HistoryPath::costs); the rest
  // are counted by build().
  std::vector<int> history_costs;
  // prefix(*character, persona, user_name) made earlier by the same builder, or null (build()
  // then makes it).
  const PromptPrefix* prefix = nullptr;
};

struct PromptReport {
  int prompt_tokens = 0;
  int history_used = 0;     // messages kept
  int history_dropped = 0;  // oldest messages left out for the budget
  bool examples_dropped = false;
  std::vector<int> memories_used;     // indices into PromptInput::memories that went in
  std::vector<store::Id> window_ids;  // history messages kept in the prompt
};

class PromptBuilder {
 public:
  PromptBuilder(PromptSettings settings, const TokenCounter& counter)
      : settings_(std::move(settings)), counter_(counter) {}

  llm::Request build(const PromptInput& in, PromptReport* report = nullptr) const;
  // The fixed part of the prompts for `character` with `persona` (may be null) and `user_name`.
  PromptPrefix prefix(const store::Character& character, const store::Persona* persona,
                      const std::string& user_name) const;
  // The budget build() fits the prompt into, and what one history message costs in it: a history
  // suffix whose costs add up to more than the budget holds everything build() can keep.
  int history_budget() const { return std::max(256, settings_.context_size - settings_.max_tokens); }
  int message_cost(std::string_view content) const { return counter_.count(content) + 4; }
  // Splits a mes_example text into dialogue blocks at each <START> marker.
  static std::vector<std::string> split_examples(const std::string& mes_example);

 private:
  PromptSettings settings_;
  const TokenCounter& counter_;
};

}  // namespace troupe::chat
