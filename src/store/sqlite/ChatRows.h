// ChatRows: column lists, row -> record mapping and keyed loads for chats, messages and
// generations. Loads taking a user_id answer not_found for another user's rows.
// Thread-safety: free functions over a Connection owned by the calling thread.
#pragma once

#include "core/Result.h"
#include "store/Records.h"
#include "store/sqlite/Stmt.h"

namespace troupe::store::sqlite {

class Connection;

// Column lists for "FROM chats c", "FROM messages m" and "FROM generations g".
extern const char* const kChatColumns;
extern const char* const kMessageColumns;
extern const char* const kGenerationColumns;
inline constexpr int kMessageColumnCount = 10;

Chat read_chat(const Stmt& st);
Message read_message(const Stmt& st);  // swipe fields left at their defaults
Generation read_generation(const Stmt& st);

Result<Chat> load_chat(Connection& c, Id user_id, Id id);
Result<Chat> load_chat_any(Connection& c, Id id);
Result<Message> load_message(Connection& c, Id user_id, Id id);
Result<Message> load_message_any(Connection& c, Id id);
Result<Generation> load_generation(Connection& c, Id id);
// The id of the chat's running generation, 0 if none.
Result<Id> running_generation(Connection& c, Id chat_id);
// Fills swipe_index/swipe_count from the message's siblings.
Status fill_swipe(Connection& c, Message& m);

}  // namespace troupe::store::sqlite
