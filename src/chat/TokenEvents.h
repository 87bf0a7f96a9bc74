// TokenEvents: a run of generated text pieces published as "token" events. The pieces are stored
// back to back in one string (`text`), the i-th ending at ends[i] and the first starting at
// `begin`: one event per piece, as the backend delivered them.
// Thread-safety: a plain function over the caller's objects (the bus is safe from any thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "chat/EventFormatter.h"
#include "core/Result.h"
#include "sync/EventBatch.h"
#include "sync/EventBus.h"

namespace troupe::chat {

// Appends the pieces' events to `batch` (which may hold events already) and publishes the batch
// on `bus` whenever it nears EventBatch's bounds and once at the end, so a run of any length goes
// out in order, in as few batches as the bounds allow. `batch` is left empty. Returns the first
// failure; publishing goes on after it.
inline Status publish_token_events(sync::EventBus& bus, std::int64_t chat_id, sync::EventBatch& batch,
                                   const EventFormatter& fmt, store::Id generation_id,
                                   store::Id message_id, std::string_view text, std::size_t begin,
                                   const std::vector<std::size_t>& ends) {
  Status first;
  auto publish = [&] {
    auto st = bus.publish_batch(chat_id, batch);
    if (!st.ok() && first.ok()) first = st;
    batch.clear();
  };
  for (std::size_t end : ends) {
    fmt.append_token(batch.add("token"), generation_id, message_id, text.substr(begin, end - begin));
    begin = end;
    if (batch.nearly_full()) publish();
  }
  if (!batch.empty()) publish();
  return first;
}

}  // namespace troupe::chat
