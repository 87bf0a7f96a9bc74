// MemoryRecall: the memory steps of a generation. Before the prompt: work out which history
// messages the prompt window keeps, retrieve memories for the new user message plus the message before
// it as context (skipping those in the window) and put them into the prompt input. Before the
// generation's end is stored and announced: store what it used, the new user message and the reply
// as memories, all in one write (nothing is written before the first token).
// Thread-safety: stateless functions; call from the generation's coroutine.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "chat/Deps.h"
#include "chat/PromptBuilder.h"

namespace troupe::chat {

struct GenerationJob;

// Fills `input.memories` / `input.memory_reserve`; sets gen.retrieval_mode and gen.memory_ids.
// Returns what the prompt used (for remember_turn).
boost::asio::awaitable<memory::RetrievalResult> recall_memories(const Deps& d, const PromptBuilder& prompts,
                                             const GenerationJob& job, PromptInput& input,
                                             store::Generation& gen);
// Ids of the messages the chat's next prompt would keep in its window (blocking: DB pool only).
Result<std::vector<store::Id>> prompt_window(const Deps& d, const store::User& user,
                                             const store::Chat& chat);
// Records what generation `gen_id` used (when memory recall ran: `used.mode` not "off" or it has
// items) and stores the turn's new user message (reply turns) and the reply (non-empty text) as
// memories, the reply leaving out the parts that quote the memories of its prompt (`quoted`, see
// QuoteStripper); errors are logged.
boost::asio::awaitable<void> remember_turn(const Deps& d, const GenerationJob& job, store::Id gen_id,
                                           memory::RetrievalResult used, bool recalled,
                                           const store::Message& reply,
                                           const std::vector<RecalledMemory>& quoted);

}  // namespace troupe::chat
