// MemoryRecall: the memory steps of a generation. Before the prompt: work out which history
// messages the prompt window keeps, retrieve memories for the new user message plus the message before
// it as context (skipping those in the window), put them into the prompt input and record what the
// generation used; then store the new user message as a memory. After the reply: store it too.
// Thread-safety: stateless functions; call from the generation's coroutine.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "chat/Deps.h"
#include "chat/PromptBuilder.h"

namespace troupe::chat {

struct GenerationJob;

// Fills `input.memories` / `input.memory_reserve`; sets gen.retrieval_mode and gen.memory_ids.
boost::asio::awaitable<void> recall_memories(const Deps& d, const PromptBuilder& prompts,
                                             const GenerationJob& job, PromptInput& input,
                                             store::Generation& gen);
// Ids of the messages the chat's next prompt would keep in its window (blocking: DB pool only).
Result<std::vector<store::Id>> prompt_window(const Deps& d, const store::User& user,
                                             const store::Chat& chat);
// Stores a finished reply (non-empty text) as a memory, leaving out the parts that quote the
// memories of its prompt (`quoted`, see QuoteStripper); errors are logged.
boost::asio::awaitable<void> remember_reply(const Deps& d, const GenerationJob& job,
                                            const store::Message& reply,
                                            const std::vector<RecalledMemory>& quoted);

}  // namespace troupe::chat
