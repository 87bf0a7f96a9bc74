#include "store/sqlite/Migrations.h"

#include <iterator>
#include <string>

#include "store/sqlite/Connection.h"
#include "store/sqlite/Transaction.h"

namespace troupe::store::sqlite {
namespace {

// Append only: never edit a released step, add a new one.
// Tree links (parent_id, active_child_id, leaf_id, root_active_id) use 0 for "none" and are kept
// consistent by the store itself; subtrees are deleted explicitly (a FK cascade along parent_id
// would recurse once per level and fail on long chats).
constexpr const char* kMigrations[] = {
    // 1: initial schema
    R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  is_admin INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE tokens (
  token_sha256 TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE characters (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  personality TEXT NOT NULL,
  scenario TEXT NOT NULL,
  first_mes TEXT NOT NULL,
  mes_example TEXT NOT NULL,
  creator_notes TEXT NOT NULL,
  system_prompt TEXT NOT NULL,
  post_history_instructions TEXT NOT NULL,
  alternate_greetings TEXT NOT NULL,
  tags TEXT NOT NULL,
  creator TEXT NOT NULL,
  character_version TEXT NOT NULL,
  extensions_json TEXT NOT NULL,
  character_book_json TEXT NOT NULL,
  extra_json TEXT NOT NULL,
  top_extra_json TEXT NOT NULL,
  source_spec TEXT NOT NULL,
  avatar_png BLOB,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX characters_user ON characters(user_id, id);

CREATE TABLE personas (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  is_default INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX personas_user ON personas(user_id, id);
CREATE UNIQUE INDEX personas_one_default ON personas(user_id) WHERE is_default <> 0;

CREATE TABLE chats (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  character_id INTEGER NOT NULL REFERENCES characters(id) ON DELETE CASCADE,
  persona_id INTEGER REFERENCES personas(id) ON DELETE SET NULL,
  title TEXT NOT NULL,
  leaf_id INTEGER NOT NULL DEFAULT 0,
  root_active_id INTEGER NOT NULL DEFAULT 0,
  seq_reserved INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX chats_user ON chats(user_id, id);
CREATE INDEX chats_character ON chats(character_id, id);
CREATE INDEX chats_persona ON chats(persona_id);

CREATE TABLE messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  parent_id INTEGER NOT NULL DEFAULT 0,
  active_child_id INTEGER NOT NULL DEFAULT 0,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  status TEXT NOT NULL,
  generation_id INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX messages_chat ON messages(chat_id, parent_id, id);
CREATE INDEX messages_parent ON messages(parent_id);

CREATE TABLE generations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL,
  message_id INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  backend TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX generations_chat ON generations(chat_id);
CREATE INDEX generations_message ON generations(message_id);
CREATE UNIQUE INDEX generations_one_running ON generations(chat_id) WHERE status = 'running';

CREATE TABLE idempotency (
  user_id INTEGER NOT NULL,
  key TEXT NOT NULL,
  chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  user_message_id INTEGER NOT NULL,
  generation_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_chat ON idempotency(chat_id);
)sql",
    // 2: character memories, their keyword index and what each generation used
    R"sql(
CREATE TABLE memories (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  space_key INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  character_id INTEGER NOT NULL,
  chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  message_id INTEGER NOT NULL UNIQUE,
  speaker TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_retrieved_at INTEGER NOT NULL DEFAULT 0,
  importance REAL NOT NULL DEFAULT 0,
  embedder TEXT NOT NULL DEFAULT '',
  embedding BLOB
);
CREATE INDEX memories_space ON memories(space_key, id);
CREATE INDEX memories_chat ON memories(chat_id);
CREATE INDEX memories_character ON memories(user_id, character_id);
CREATE VIRTUAL TABLE memories_fts USING fts5(text, content='memories', content_rowid='id',
                                             tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
  INSERT INTO memories_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
  INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER memories_au AFTER UPDATE OF text ON memories BEGIN
  INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.id, old.text);
  INSERT INTO memories_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TABLE generation_retrievals (
  generation_id INTEGER PRIMARY KEY REFERENCES generations(id) ON DELETE CASCADE,
  mode TEXT NOT NULL
);
CREATE TABLE generation_memories (
  generation_id INTEGER NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
  rank INTEGER NOT NULL,
  memory_id INTEGER NOT NULL,
  relevance REAL NOT NULL,
  recency REAL NOT NULL,
  importance REAL NOT NULL,
  score REAL NOT NULL,
  PRIMARY KEY (generation_id, rank)
) WITHOUT ROWID;
)sql",
    // 3: a message's children are found through messages_chat (chat_id, parent_id, id), which
    // every query over the tree can use: the index on parent_id alone cost every insert an index
    // update and every commit a page for nothing.
    R"sql(
DROP INDEX IF EXISTS messages_parent;
)sql",
    // 4: one index on generations (chat_id, message_id) serves both lookups the two single-column
    // ones did (a chat's generations, a chat's generations of some messages): a turn's
    // generation then costs one index insert less, and one page less per commit.
    R"sql(
CREATE INDEX generations_chat_message ON generations(chat_id, message_id);
DROP INDEX IF EXISTS generations_chat;
DROP INDEX IF EXISTS generations_message;
)sql",
};

constexpr int kLatest = static_cast<int>(std::size(kMigrations));

}  // namespace

int latest_schema_version() noexcept { return kLatest; }

Result<int> schema_version(Connection& c) {
  auto st = c.prepare("PRAGMA user_version");
  if (!st.ok()) return st.error();
  auto row = st->step();
  if (!row.ok()) return row.error();
  return *row ? static_cast<int>(st->col_int(0)) : 0;
}

Status migrate(Connection& c) {
  // Cheap check first: an up-to-date database needs no write lock.
  auto v = schema_version(c);
  if (!v.ok()) return v.error();
  if (*v == kLatest) return {};
  Transaction tx(c);
  TROUPE_TRY_STATUS(tx.begin());
  v = schema_version(c);  // re-read under the lock: another process may have migrated
  if (!v.ok()) return v.error();
  if (*v > kLatest) {
    return make_error(Errc::internal, "database schema version " + std::to_string(*v) +
                                          " is newer than this build's " +
                                          std::to_string(kLatest));
  }
  for (int i = *v; i < kLatest; ++i) {
    TROUPE_TRY_STATUS(c.exec(kMigrations[i]));
  }
  // user_version is part of the database header and commits atomically with the steps.
  TROUPE_TRY_STATUS(c.exec(("PRAGMA user_version=" + std::to_string(kLatest)).c_str()));
  return tx.commit();
}

}  // namespace troupe::store::sqlite
