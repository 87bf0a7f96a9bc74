// PgChatStore: finding and interrupting generations that no node runs any more.
#include <algorithm>
#include <optional>
#include <string>

#include "store/postgres/PgChatStore.h"
#include "store/postgres/PgDb.h"
#include "store/postgres/PgRows.h"

namespace troupe::store::postgres {

Result<std::vector<Generation>> PgChatStore::list_running(Id chat_id, int limit) {
  limit = std::clamp(limit, 1, kMaxRunningListed);
  return db_.read([&](PgConnection& c) -> Result<std::vector<Generation>> {
    static const std::string sql = std::string("SELECT ") + kGenerationColumns +
                                   " FROM generations g WHERE g.status = 'running' AND "
                                   "($1::bigint = 0 OR g.chat_id = $1::bigint) ORDER BY g.id LIMIT $2";
    auto r = c.query(sql, {chat_id, static_cast<std::int64_t>(limit)});
    if (!r.ok()) return r.error();
    std::vector<Generation> out;
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) out.push_back(read_generation(*r, i));
    return out;
  });
}

Result<std::optional<FinishedGeneration>> PgChatStore::interrupt_generation(
    Id generation_id, const std::string& error) {
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<std::optional<FinishedGeneration>> {
    auto first = load_generation(c, generation_id);
    if (!first.ok()) return first.error();
    if (first->status != "running") return std::optional<FinishedGeneration>();
    auto chat = lock_chat(c, first->chat_id);
    if (!chat.ok()) return chat.error();
    auto gen = c.query(
        "UPDATE generations SET status = 'interrupted', error = $2, finished_at = $3 "
        "WHERE id = $1 AND status = 'running'",
        {generation_id, error, now});
    if (!gen.ok()) return gen.error();
    if (gen->affected() == 0) return std::optional<FinishedGeneration>();
    auto msg = c.query(
        "UPDATE messages SET status = 'interrupted', updated_at = $2 "
        "WHERE id = $1 AND status = 'streaming'",
        {first->message_id, now});
    if (!msg.ok()) return msg.error();
    auto touch = c.query("UPDATE chats SET updated_at = $2 WHERE id = $1", {first->chat_id, now});
    if (!touch.ok()) return touch.error();
    FinishedGeneration out;
    auto done = load_generation(c, generation_id);
    if (!done.ok()) return done.error();
    out.generation = std::move(done).value();
    auto m = load_message_any(c, first->message_id);
    if (!m.ok()) return m.error();
    out.reply = std::move(m).value();
    auto sw = fill_swipe(c, out.reply);
    if (!sw.ok()) return sw.error();
    return std::optional<FinishedGeneration>(std::move(out));
  });
}

}  // namespace troupe::store::postgres
