// SqliteChatStore: finding and interrupting generations that no process runs any more.
#include <algorithm>
#include <optional>
#include <string>

#include "store/sqlite/ChatRows.h"
#include "store/sqlite/SqliteChatStore.h"
#include "store/sqlite/SqliteDb.h"

namespace troupe::store::sqlite {

Result<std::vector<Generation>> SqliteChatStore::list_running(Id chat_id, int limit) {
  limit = std::clamp(limit, 1, kMaxRunningListed);
  return db_.read([&](Connection& c) -> Result<std::vector<Generation>> {
    static const std::string sql = std::string("SELECT ") + kGenerationColumns +
                                   " FROM generations g WHERE g.status = 'running' AND "
                                   "(?1 = 0 OR g.chat_id = ?1) ORDER BY g.id LIMIT ?2";
    auto st = c.prepare(sql);
    if (!st.ok()) return st.error();
    st->bind_int(1, chat_id).bind_int(2, limit);
    std::vector<Generation> out;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) break;
      out.push_back(read_generation(*st));
    }
    return out;
  });
}

Result<std::optional<FinishedGeneration>> SqliteChatStore::interrupt_generation(
    Id generation_id, const std::string& error) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Result<std::optional<FinishedGeneration>> {
    auto g = load_generation(c, generation_id);
    if (!g.ok()) return g.error();
    if (g->status != "running") return std::optional<FinishedGeneration>();
    auto gen = c.prepare(
        "UPDATE generations SET status = 'interrupted', error = ?2, finished_at = ?3 "
        "WHERE id = ?1 AND status = 'running'");
    if (!gen.ok()) return gen.error();
    gen->bind_int(1, generation_id).bind_text(2, error).bind_int(3, now);
    TROUPE_TRY_STATUS(gen->run());
    if (c.changes() == 0) return std::optional<FinishedGeneration>();
    auto msg = c.prepare(
        "UPDATE messages SET status = 'interrupted', updated_at = ?2 "
        "WHERE id = ?1 AND status = 'streaming'");
    if (!msg.ok()) return msg.error();
    msg->bind_int(1, g->message_id).bind_int(2, now);
    TROUPE_TRY_STATUS(msg->run());
    auto chat = c.prepare("UPDATE chats SET updated_at = ?2 WHERE id = ?1");
    if (!chat.ok()) return chat.error();
    chat->bind_int(1, g->chat_id).bind_int(2, now);
    TROUPE_TRY_STATUS(chat->run());
    FinishedGeneration out;
    auto done = load_generation(c, generation_id);
    if (!done.ok()) return done.error();
    out.generation = std::move(done).value();
    auto m = load_message_any(c, g->message_id);
    if (!m.ok()) return m.error();
    out.reply = std::move(m).value();
    TROUPE_TRY_STATUS(fill_swipe(c, out.reply));
    return std::optional<FinishedGeneration>(std::move(out));
  });
}

}  // namespace troupe::store::sqlite
