// The turn's answer, record and events, and the JSON they are made of.
// Thread-safety: stateless; any I/O thread (format_turn reads Shared's fixed tokens and words).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "Inbox.h"
#include "Shared.h"
#include "Text.h"

namespace troupe_turn_floor {

// A message and a generation as the API shows them.
void message_json(std::string& o, std::int64_t id, std::int64_t chat, std::int64_t parent,
                  std::string_view role, std::string_view content, std::string_view status,
                  Null generation, std::int64_t ms);

void generation_json(std::string& o, std::int64_t id, std::int64_t chat, std::int64_t message,
                     std::string_view status, std::int64_t started, Null finished);

// Opens an SSE frame: "id: S\nevent: T\ndata: {"type":"T","chat_id":C,"seq":S"; the caller
// closes it with "}\n\n".
void begin_event(std::string& o, std::string_view type, std::int64_t chat, std::int64_t seq);

struct TurnIds {
  std::int64_t chat, user, reply, parent, generation, first_seq;
};

// Fills p's response (the 202), record and events for the turn t (ids and seqs already taken).
void format_turn(const Shared& s, const TurnIds& t, std::string_view content, Pending& p);

}  // namespace troupe_turn_floor
