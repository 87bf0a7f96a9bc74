// TokenEvents: a run of generated text pieces as "token" events in an EventBatch. The pieces are
// stored back to back in one string (`text`), the i-th ending at ends[i] and the first starting at
// `begin`: one event per piece, as the backend delivered them.
// Thread-safety: a plain function over the caller's objects.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "chat/EventFormatter.h"
#include "sync/EventBatch.h"

namespace troupe::chat {

inline void append_token_events(sync::EventBatch& batch, const EventFormatter& fmt,
                                store::Id generation_id, store::Id message_id, std::string_view text,
                                std::size_t begin, const std::vector<std::size_t>& ends) {
  for (std::size_t end : ends) {
    fmt.append_token(batch.add("token"), generation_id, message_id, text.substr(begin, end - begin));
    begin = end;
  }
}

}  // namespace troupe::chat
