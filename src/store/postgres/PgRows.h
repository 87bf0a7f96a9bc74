// PgRows: column lists, row -> record mapping and keyed loads for the PostgreSQL store. Loads
// taking a user_id answer not_found for another user's rows; lock_* variants take the row lock
// (SELECT ... FOR UPDATE) that serializes changes of one chat (or one user's personas) across
// connections and nodes.
// Thread-safety: free functions over a connection owned by the calling thread.
#pragma once

#include "core/Result.h"
#include "store/Records.h"
#include "store/postgres/PgResult.h"

namespace troupe::store::postgres {

class PgConnection;

// "id, user_id, name, ..., created_at, updated_at" (23 columns, in Character field order).
extern const char* const kCharacterColumns;
// "id, user_id, name, description, is_default, created_at, updated_at".
extern const char* const kPersonaColumns;
// Column lists for "FROM chats c", "FROM messages m" and "FROM generations g".
extern const char* const kChatColumns;
extern const char* const kMessageColumns;
extern const char* const kGenerationColumns;
inline constexpr int kMessageColumnCount = 10;

Result<Character> read_character(const PgResult& r, int row);  // fails on corrupt list columns
Persona read_persona(const PgResult& r, int row);
Chat read_chat(const PgResult& r, int row);
Message read_message(const PgResult& r, int row);  // swipe fields left at their defaults
Generation read_generation(const PgResult& r, int row);

Result<Chat> load_chat(PgConnection& c, Id user_id, Id id);
Result<Chat> load_chat_any(PgConnection& c, Id id);
// Locks the chat row for the rest of the transaction and returns it.
Result<Chat> lock_chat(PgConnection& c, Id id);
Result<Message> load_message(PgConnection& c, Id user_id, Id id);
Result<Message> load_message_any(PgConnection& c, Id id);
Result<Generation> load_generation(PgConnection& c, Id id);
// The id of the chat's running generation, 0 if none.
Result<Id> running_generation(PgConnection& c, Id chat_id);
// Fills swipe_index/swipe_count from the message's siblings.
Status fill_swipe(PgConnection& c, Message& m);

}  // namespace troupe::store::postgres
