// SqliteChatStore: ChatStore on SqliteDb. Every mutating call is one SqliteDb::write (its own
// savepoint in a group-committed BEGIN IMMEDIATE transaction), durable on return (WAL,
// synchronous=FULL). Calls taking a user_id answer not_found for another user's ids;
// path_page/path_to/path_tail/save_partial/finish_generation/reserve_seq trust an id the caller
// has already authorized. At most one generation per chat is "running" (else conflict).
// begin_generation: "regenerate" with an assistant target adds a sibling of it (a swipe; greetings
// included), with a user target a new reply below it; "continue" reopens the assistant target.
// Turn.user_message is then the new reply's parent (empty for a greeting).
// Thread-safety: safe for concurrent use from any non-I/O thread (blocking).
#pragma once

#include "core/Clock.h"
#include "store/ChatStore.h"

namespace troupe::store::sqlite {

class SqliteDb;

class SqliteChatStore final : public ChatStore {
 public:
  SqliteChatStore(SqliteDb& db, const Clock& clock) : db_(db), clock_(clock) {}

  Result<Chat> create_chat(const Chat& c, const std::vector<std::string>& greetings) override;
  Result<Chat> get_chat(Id user_id, Id id) override;
  Result<std::vector<Chat>> list_chats(Id user_id, Id character_id, Id after_id,
                                       int limit) override;
  Status delete_chat(Id user_id, Id id) override;

  Result<PathPage> path_page(Id chat_id, Id before, int limit) override;
  Result<std::vector<Message>> path_to(Id chat_id, Id until, int max_messages) override;
  Result<std::vector<Message>> path_tail(
      Id chat_id, Id until, int max_messages,
      const std::function<bool(const Message&)>& enough) override;
  Result<Message> get_message(Id user_id, Id id) override;
  Result<Siblings> siblings(Id user_id, Id id) override;

  // Defined in SqliteChatTurns.cpp.
  Result<Turn> begin_turn(Id user_id, Id chat_id, const std::string& content,
                          const std::string& idempotency_key, const std::string& backend) override;
  Result<std::optional<Turn>> find_turn(Id user_id, const std::string& key) override;
  Result<Turn> begin_generation(Id user_id, Id chat_id, const std::string& kind, Id target_id,
                                const std::string& backend) override;
  Status save_partial(Id message_id, const std::string& content) override;
  Status finish_generation(Id generation_id, const std::string& status, const std::string& content,
                           const std::string& error) override;
  // Queued to the single writer; `done` runs on the writer thread after the commit.
  bool async_writes() const override { return true; }
  void begin_turn_async(Id user_id, Id chat_id, std::string content, std::string idempotency_key,
                        std::string backend, std::function<void(Result<Turn>)> done,
                        std::shared_ptr<EarlyFinish> early = nullptr) override;
  void finish_generation_async(Id generation_id, std::string status, std::string content,
                               std::string error, std::function<void(Status)> done) override;
  Result<Generation> get_generation(Id user_id, Id id) override;
  Result<int> interrupt_running() override;
  Result<std::vector<Generation>> list_running(Id chat_id, int limit) override;
  Result<std::optional<FinishedGeneration>> interrupt_generation(Id generation_id,
                                                                 const std::string& error) override;

  Result<Message> edit_message(Id user_id, Id id, const std::string& content) override;
  Status delete_message(Id user_id, Id id) override;
  Result<Chat> select_message(Id user_id, Id id) override;
  Result<Chat> branch_from(Id user_id, Id id, std::int64_t seq_reserved) override;

  Result<std::int64_t> reserve_seq(Id chat_id, std::int64_t count) override;

 private:
  SqliteDb& db_;
  const Clock& clock_;
};

}  // namespace troupe::store::sqlite
