#include "chat/MemoryRecall.h"

#include <spdlog/spdlog.h>

#include "chat/GenerationManager.h"
#include "chat/QuoteStripper.h"

namespace troupe::chat {

namespace asio = boost::asio;

namespace {

memory::MemoryScope scope_of(const GenerationJob& job) {
  return {job.turn.generation.user_id, job.who->character.id, job.turn.generation.chat_id};
}

}  // namespace

asio::awaitable<memory::RetrievalResult> recall_memories(const Deps& d, const PromptBuilder& prompts,
                                                         const GenerationJob& job, PromptInput& input,
                                                         store::Generation& gen) {
  memory::RetrievalResult used;
  if (!d.memory || !d.memory->enabled() || input.history.empty()) co_return used;
  input.memory_reserve = d.config.memory.token_budget;
  PromptReport window;
  (void)prompts.build(input, &window);

  memory::RetrievalRequest req;
  req.scope = scope_of(job);
  const auto& h = input.history;
  req.query = h.back().content;
  if (h.size() >= 2) req.context = h[h.size() - 2].content;
  req.window_message_ids = window.window_ids;
  auto found = co_await d.memory->retrieve(std::move(req));

  for (auto& m : found.items) input.memories.push_back({m.speaker, m.text});
  PromptReport fit;
  (void)prompts.build(input, &fit);
  used.mode = found.mode;
  for (int i : fit.memories_used) used.items.push_back(found.items[static_cast<std::size_t>(i)]);
  std::vector<RecalledMemory> kept;
  for (auto& m : used.items) kept.push_back({m.speaker, m.text});
  input.memories = std::move(kept);
  gen.retrieval_mode = used.mode;
  gen.memory_ids.clear();
  for (auto& m : used.items) gen.memory_ids.push_back(m.memory_id);
  co_return used;
}

Result<std::vector<store::Id>> prompt_window(const Deps& d, const store::User& user,
                                             const store::Chat& chat) {
  auto character = d.characters.get_character(user.id, chat.character_id);
  if (!character.ok()) return character.error();
  auto persona = chat.persona_id ? d.characters.get_persona(user.id, chat.persona_id)
                                 : d.characters.default_persona(user.id);
  auto history = d.chats.path_to(chat.id, 0, 2000);
  if (!history.ok()) return history.error();
  EstimateTokenCounter counter;
  PromptBuilder prompts(PromptSettings{d.config.generation.system_prompt, d.config.llm.context_size,
                                       d.config.llm.max_tokens, d.config.llm.temperature,
                                       d.config.llm.top_p},
                        counter);
  PromptInput input{&*character, persona.ok() ? &*persona : nullptr,
                    persona.ok() ? persona->name : user.name, std::move(history).value(), false};
  input.memory_reserve = d.config.memory.token_budget;
  PromptReport report;
  (void)prompts.build(input, &report);
  return report.window_ids;
}

asio::awaitable<void> remember_turn(const Deps& d, const GenerationJob& job, store::Id gen_id,
                                    memory::RetrievalResult used, bool recalled,
                                    const store::Message& reply,
                                    const std::vector<RecalledMemory>& quoted) {
  if (!d.memory || !d.memory->enabled()) co_return;
  std::vector<store::Message> messages;
  // The new user message becomes a memory once it has been used as the query.
  const auto& um = job.turn.user_message;
  if (job.turn.generation.kind == "reply" && um.id && !um.content.empty()) messages.push_back(um);
  if (!reply.content.empty()) {
    store::Message own = reply;
    if (!quoted.empty()) own.content = QuoteStripper::strip(reply.content, quoted);
    if (!own.content.empty()) messages.push_back(std::move(own));  // nothing but quotes: no memory
  }
  if (messages.empty() && !recalled) co_return;
  const store::Id record_for = recalled ? gen_id : 0;  // (named: GCC 12 and ?: inside co_await)
  auto r = co_await d.memory->remember_turn(scope_of(job), std::move(messages), record_for,
                                            std::move(used));
  if (!r.ok()) spdlog::warn("generation {}: memories not stored: {}", gen_id, r.error().message);
}

}  // namespace troupe::chat
