#include "chat/PromptBuilder.h"

#include <algorithm>

#include "chat/Macros.h"

namespace troupe::chat {

namespace {

std::string trim(std::string s) {
  auto notspace = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), notspace));
  s.erase(std::find_if(s.rbegin(), s.rend(), notspace).base(), s.end());
  return s;
}

void append_section(std::string& out, const std::string& text) {
  if (text.empty()) return;
  if (!out.empty()) out += "\n\n";
  out += text;
}

}  // namespace

std::vector<std::string> PromptBuilder::split_examples(const std::string& mes_example) {
  std::vector<std::string> blocks;
  std::string current;
  std::size_t pos = 0;
  auto flush = [&] {
    auto t = trim(current);
    if (!t.empty()) blocks.push_back(std::move(t));
    current.clear();
  };
  while (pos < mes_example.size()) {
    auto next = mes_example.find("<START>", pos);
    if (next == std::string::npos) {
      current += mes_example.substr(pos);
      break;
    }
    current += mes_example.substr(pos, next - pos);
    flush();
    pos = next + 7;
  }
  flush();
  return blocks;
}

PromptPrefix PromptBuilder::prefix(const store::Character& ch, const store::Persona* persona,
                                   const std::string& user_name) const {
  PromptPrefix p;
  p.user_name = user_name;
  // {{original}} stands for the default prompt as it would read on its own (macros expanded).
  const std::string original =
      expand_macros(settings_.default_system_prompt, MacroValues{ch.name, user_name, ""});
  MacroValues mv{ch.name, user_name, original};
  auto expand = [&](const std::string& s) { return trim(expand_macros(s, mv)); };

  p.system = ch.system_prompt.empty() ? expand(settings_.default_system_prompt) : expand(ch.system_prompt);
  append_section(p.system, expand(ch.description));
  if (!ch.personality.empty()) {
    append_section(p.system, ch.name + "'s personality: " + expand(ch.personality));
  }
  if (!ch.scenario.empty()) append_section(p.system, "Scenario: " + expand(ch.scenario));
  if (persona && !persona->description.empty()) {
    append_section(p.system, "About " + user_name + ": " + expand(persona->description));
  }
  p.system_cost = message_cost(p.system);
  for (auto& b : split_examples(ch.mes_example)) {
    p.examples.push_back(expand(b));
    p.example_costs.push_back(counter_.count(p.examples.back()) + 2);
  }
  if (!ch.post_history_instructions.empty()) {
    p.post = trim(expand_macros(ch.post_history_instructions, MacroValues{ch.name, user_name, ""}));
  }
  p.post_cost = p.post.empty() ? 0 : message_cost(p.post);
  return p;
}

llm::Request PromptBuilder::build(const PromptInput& in, PromptReport* report) const {
  const store::Character& ch = *in.character;
  PromptPrefix made;
  if (!in.prefix) made = prefix(ch, in.persona, in.user_name);
  const PromptPrefix& fixed = in.prefix ? *in.prefix : made;
  std::string system = fixed.system;
  const std::string& post = fixed.post;

  const int budget = history_budget();
  int used = fixed.system_cost;
  const int reserve = std::clamp(in.memory_reserve, 0, budget / 2);
  std::string memory_text;
  std::vector<int> memories_used;
  {
    int left = reserve - counter_.count(kMemoriesHeader) - 2;
    for (std::size_t i = 0; i < in.memories.size(); ++i) {
      const auto& m = in.memories[i];
      const std::string who = m.speaker == "user" ? in.user_name : (m.speaker == "assistant" ? ch.name : "Note");
      std::string line = "- " + who + ": " + trim(m.text);
      const int cost = counter_.count(line) + 1;
      if (cost > left) continue;
      left -= cost;
      memory_text += "\n" + line;
      memories_used.push_back(static_cast<int>(i));
    }
  }
  used += reserve;
  used += fixed.post_cost;

  // The newest message always goes in; then the example dialogues (in order, as many as fit);
  // then older history, newest first, while it fits. So the budget drops the oldest history
  // first and example dialogues only after that.
  auto history_cost = [&](std::size_t i) {
    return i < in.history_costs.size() ? in.history_costs[i] : message_cost(in.history[i].content);
  };
  std::vector<const store::Message*> kept;
  if (!in.history.empty()) {
    used += history_cost(in.history.size() - 1);
    kept.push_back(&in.history.back());
  }

  std::string example_text;
  bool dropped_examples = false;
  for (std::size_t i = 0; i < fixed.examples.size(); ++i) {
    const std::string& e = fixed.examples[i];
    const int cost = fixed.example_costs[i];
    if (used + cost > budget) {
      dropped_examples = true;
      break;
    }
    used += cost;
    append_section(example_text, "<START>\n" + e);
  }

  for (std::size_t i = in.history.size(); i-- > 1;) {
    const store::Message& m = in.history[i - 1];
    const int cost = history_cost(i - 1);
    if (used + cost > budget) break;
    used += cost;
    kept.push_back(&m);
  }
  std::reverse(kept.begin(), kept.end());

  if (!example_text.empty()) {
    append_section(system, "Example dialogue:\n" + example_text);
  }
  if (!memory_text.empty()) append_section(system, kMemoriesHeader + memory_text);

  llm::Request req;
  req.char_name = ch.name;
  req.user_name = in.user_name;
  req.max_tokens = settings_.max_tokens;
  req.temperature = settings_.temperature;
  req.top_p = settings_.top_p;
  req.stop = {"\n" + in.user_name + ":"};
  req.messages.push_back({"system", system});
  for (const auto* m : kept) {
    std::string role = m->role == "user" ? "user" : (m->role == "system" ? "system" : "assistant");
    req.messages.push_back({role, m->content});
  }
  if (in.continue_last && !kept.empty() && kept.back()->role == "assistant") {
    req.continue_from = kept.back()->content;
  }
  if (!post.empty() && req.continue_from.empty()) req.messages.push_back({"system", post});

  if (report) {
    report->prompt_tokens = used;
    report->history_used = static_cast<int>(kept.size());
    report->history_dropped = static_cast<int>(in.history.size() - kept.size());
    report->examples_dropped = dropped_examples;
    report->memories_used = std::move(memories_used);
    report->window_ids.clear();
    for (const auto* m : kept) report->window_ids.push_back(m->id);
  }
  return req;
}

}  // namespace troupe::chat
