// TurnSteps: what begin_turn and begin_generation write, in order, written once for both stores.
// Each store runs them inside its own write transaction through a small adapter `S` over its
// connection, which provides:
//   S::Tree& tree                                (insert, set_active_child, set_leaf, select)
//   Result<Id> running_generation(Id chat_id)
//   Result<Generation> insert_generation(Generation g)       (its status, error, finished_at; id assigned)
//   Status set_generation_message(Id generation_id, Id message_id)
//   Result<Message> load_message(Id id)
//   Status fill_swipe(Message& m)
//   Status mark_streaming(Id message_id, Id generation_id)   (a continued reply)
//   Result<TurnIds> reserve_turn_ids()   the ids a new turn's rows will take (TurnIds below), or
//                                        all 0 to let the inserts assign them
// Tree inserts and insert_generation keep an id that is set (not 0), and a message's
// active_child_id as given.
// Loading and locking the chat and idempotency keys stay with the stores (they differ).
// Thread-safety: plain functions; called inside a store's write transaction, on the thread that
// runs it (SQLite: the writer thread; PostgreSQL: the DB-pool thread holding the connection).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "core/Result.h"
#include "store/EarlyFinish.h"
#include "store/Records.h"

namespace troupe::store {

// The ids of a turn's three new rows, reserved before they are written, so that each row is
// inserted with its links already in place (the user's message pointing at the reply, the
// generation at its message) instead of inserted and then updated. All 0: not reserved.
struct TurnIds {
  Id user_message = 0;
  Id reply = 0;
  Id generation = 0;
  bool reserved() const { return user_message != 0 && reply != 0 && generation != 0; }
};

// The statuses a generation may end with.
inline bool is_final_generation_status(const std::string& s) {
  return s == "completed" || s == "stopped" || s == "failed" || s == "interrupted";
}

// An earlier turn for the same idempotency key, given as the answer (refused for another chat).
inline Result<Turn> replay_turn(Turn earlier, Id chat_id) {
  if (earlier.user_message.chat_id != chat_id) {
    return make_error(Errc::conflict, "idempotency key already used for another chat");
  }
  return earlier;
}

inline Error idempotency_key_orphaned() {
  return make_error(Errc::conflict, "idempotency key already used (its messages were deleted)");
}

template <class S>
Status no_running_generation(S& s, Id chat_id) {
  auto running = s.running_generation(chat_id);
  if (!running.ok()) return running.error();
  if (*running != 0) return make_error(Errc::conflict, "a generation already runs in this chat");
  return {};
}

// A new turn in `chat` (owned by `user_id`, loaded by the caller): the user's message under the
// leaf, a running generation and its streaming reply below it, both selected; the leaf moves.
// With `final` (a reply that ended before its turn was written: EarlyFinish) the generation and
// the reply are written already finished, with that status, error and text; the Turn returned
// still shows them as a turn is first announced (running, streaming, no text yet): the generation
// announces its end itself, after its tokens.
template <class S>
Result<Turn> write_turn(S& s, Id user_id, const Chat& chat, const std::string& content,
                        const std::string& backend, std::int64_t now,
                        const EarlyFinish::State* final = nullptr) {
  TROUPE_TRY_STATUS(no_running_generation(s, chat.id));
  auto reserved = s.reserve_turn_ids();
  if (!reserved.ok()) return reserved.error();
  const TurnIds ids = reserved->reserved() ? *reserved : TurnIds{};
  Turn t;
  Message um;
  um.id = ids.user_message;
  um.chat_id = chat.id;
  um.parent_id = chat.leaf_id;
  um.active_child_id = ids.reply;
  um.role = "user";
  um.content = content;
  auto user = s.tree.insert(std::move(um));
  if (!user.ok()) return user.error();
  t.user_message = std::move(*user);
  TROUPE_TRY_STATUS(s.tree.set_active_child(chat.id, chat.leaf_id, t.user_message.id));

  Generation g;
  g.id = ids.generation;
  g.chat_id = chat.id;
  g.user_id = user_id;
  g.message_id = ids.reply;
  g.kind = "reply";
  g.backend = backend;
  g.started_at = now;
  if (final) {
    g.status = final->status;
    g.error = final->error;
    g.finished_at = now;
  }
  auto gen = s.insert_generation(std::move(g));
  if (!gen.ok()) return gen.error();
  t.generation = std::move(*gen);

  Message rm;
  rm.id = ids.reply;
  rm.chat_id = chat.id;
  rm.parent_id = t.user_message.id;
  rm.role = "assistant";
  rm.status = final ? final->status : "streaming";
  if (final) rm.content = final->content;
  rm.generation_id = t.generation.id;
  auto reply = s.tree.insert(std::move(rm));
  if (!reply.ok()) return reply.error();
  t.reply = std::move(*reply);
  if (!ids.reserved()) {
    t.generation.message_id = t.reply.id;
    TROUPE_TRY_STATUS(s.set_generation_message(t.generation.id, t.reply.id));
    TROUPE_TRY_STATUS(s.tree.set_active_child(chat.id, t.user_message.id, t.reply.id));
    t.user_message.active_child_id = t.reply.id;
  }
  TROUPE_TRY_STATUS(s.tree.set_leaf(chat.id, t.reply.id));
  TROUPE_TRY_STATUS(s.fill_swipe(t.user_message));
  if (final) {
    t.generation.status = "running";
    t.generation.error.clear();
    t.generation.finished_at = 0;
    t.reply.status = "streaming";
    t.reply.content.clear();
  }
  return t;
}

// A regenerate (a new sibling reply) or continue (the same reply streams on) of `target_id` in
// `chat_id` (checked by the caller to be the user's); the generated message becomes selected.
template <class S>
Result<Turn> write_generation(S& s, Id user_id, Id chat_id, const std::string& kind, Id target_id,
                              const std::string& backend, std::int64_t now) {
  auto target = s.load_message(target_id);
  if (!target.ok()) return target.error();
  if (target->chat_id != chat_id) return make_error(Errc::not_found, "message not found");
  if (kind == "continue" && target->role != "assistant") {
    return make_error(Errc::bad_request, "only an assistant message can be continued");
  }
  TROUPE_TRY_STATUS(no_running_generation(s, chat_id));
  Turn t;
  Generation g;
  g.chat_id = chat_id;
  g.user_id = user_id;
  g.kind = kind;
  g.backend = backend;
  g.started_at = now;
  g.message_id = kind == "continue" ? target->id : 0;
  auto gen = s.insert_generation(std::move(g));
  if (!gen.ok()) return gen.error();
  t.generation = std::move(*gen);

  if (kind == "regenerate") {
    Message rm;
    rm.chat_id = chat_id;
    rm.parent_id = target->role == "assistant" ? target->parent_id : target->id;
    rm.role = "assistant";
    rm.status = "streaming";
    rm.generation_id = t.generation.id;
    auto reply = s.tree.insert(std::move(rm));
    if (!reply.ok()) return reply.error();
    t.generation.message_id = reply->id;
    TROUPE_TRY_STATUS(s.set_generation_message(t.generation.id, reply->id));
  } else {
    TROUPE_TRY_STATUS(s.mark_streaming(target->id, t.generation.id));
  }
  TROUPE_TRY_STATUS(s.tree.select(chat_id, t.generation.message_id));
  auto reply = s.load_message(t.generation.message_id);
  if (!reply.ok()) return reply.error();
  t.reply = std::move(*reply);
  TROUPE_TRY_STATUS(s.fill_swipe(t.reply));
  if (t.reply.parent_id != 0) {
    auto parent = s.load_message(t.reply.parent_id);
    if (!parent.ok()) return parent.error();
    t.user_message = std::move(*parent);
    TROUPE_TRY_STATUS(s.fill_swipe(t.user_message));
  }
  return t;
}

}  // namespace troupe::store
