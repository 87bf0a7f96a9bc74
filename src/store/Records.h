// Plain records stored by the store and used by the domain. No behaviour, no JSON.
// Thread-safety: plain value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace troupe::store {

using Id = std::int64_t;  // 0 = none

struct User {
  Id id = 0;
  std::string name;
  bool is_admin = false;
  std::int64_t created_at = 0;  // ms since epoch
};

// A character, with every Character Card field the product uses. Fields the product does not use
// are kept as raw JSON text so export reproduces them unchanged.
struct Character {
  Id id = 0;
  Id user_id = 0;
  std::string name;
  std::string description;
  std::string personality;
  std::string scenario;
  std::string first_mes;
  std::string mes_example;
  std::string creator_notes;
  std::string system_prompt;
  std::string post_history_instructions;
  std::vector<std::string> alternate_greetings;
  std::vector<std::string> tags;
  std::string creator;
  std::string character_version;
  std::string extensions_json = "{}";     // raw text of data.extensions, byte for byte
  std::string character_book_json;        // raw text of data.character_book, "" = none
  std::string extra_json = "{}";          // raw JSON object: unknown keys of `data` (and V3 fields)
  std::string top_extra_json = "{}";      // raw JSON object: unknown top-level card keys
  std::string source_spec;                // "v1" | "v2" | "v3" | "" (created by API)
  std::string avatar_png;                 // PNG bytes, "" = none (placeholder generated on export)
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct Persona {
  Id id = 0;
  Id user_id = 0;
  std::string name;
  std::string description;
  bool is_default = false;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

struct Chat {
  Id id = 0;
  Id user_id = 0;
  Id character_id = 0;
  Id persona_id = 0;     // 0 = user's default persona at prompt time
  std::string title;
  Id leaf_id = 0;        // end of the selected path
  Id root_active_id = 0; // selected root-level message (greeting swipe)
  std::int64_t seq_reserved = 0;  // high-water mark of reserved event sequence numbers
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// Message statuses: "ok" (user/edited/greeting), "streaming", "completed", "stopped", "failed",
// "interrupted".
struct Message {
  Id id = 0;
  Id chat_id = 0;
  Id parent_id = 0;        // 0 = root level
  Id active_child_id = 0;  // selected reply/continuation below this message
  std::string role;        // "user" | "assistant" | "system"
  std::string content;
  std::string status = "ok";
  Id generation_id = 0;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  // Filled by path queries: position among siblings (swipes).
  int swipe_index = 0;
  int swipe_count = 1;
};

// Generation statuses: "running", "completed", "stopped", "failed", "interrupted".
struct Generation {
  Id id = 0;
  Id chat_id = 0;
  Id user_id = 0;
  Id message_id = 0;  // assistant message being written
  std::string kind;   // "reply" | "regenerate" | "continue"
  std::string status = "running";
  std::string error;
  std::string backend;  // "sim" | "openai"
  std::int64_t started_at = 0;
  std::int64_t finished_at = 0;
  // Memory retrieval for its prompt (memory store): "vector" | "keyword" | "off", "" = unknown.
  std::string retrieval_mode;
  std::vector<Id> memory_ids;  // memories put into its prompt, best first
};

// The durable result of posting a user message and opening its generation.
struct Turn {
  Message user_message;
  Message reply;  // placeholder assistant message, status "streaming"
  Generation generation;
  bool replayed = false;  // true when the idempotency key matched an earlier request
};

}  // namespace troupe::store
