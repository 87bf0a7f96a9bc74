// Memory store: upsert by message, keyword search with hostile input, deletes (message subtree,
// character, user, chat cascade), space loading and generation records. Runs against SQLite
// (FTS5) and PostgreSQL (tsvector).
#include <cmath>

#include "store/postgres/PgMemoryStore.h"
#include "store/sqlite/SqliteMemoryStore.h"
#include "StoreTestUtil.h"

namespace troupe::store::sqlite::testing {
namespace {

class MemoryStoreTest : public StoreBackendTest {
 protected:
  MemoryStore& memories() { return pg_store_ ? pg_store_->memories() : store_->memories(); }

  MemoryRecord rec(const Chat& c, const Message& m, std::int64_t space, std::vector<float> emb = {}) {
    MemoryRecord r;
    r.space_key = space;
    r.user_id = c.user_id;
    r.character_id = c.character_id;
    r.chat_id = c.id;
    r.message_id = m.id;
    r.speaker = m.role;
    r.text = m.content;
    r.created_at = m.created_at;
    r.importance = 0.25;
    if (!emb.empty()) r.embedder = "fake-2";
    r.embedding = std::move(emb);
    return r;
  }
};

TEST_P(MemoryStoreTest, UpsertReplacesByMessageAndKeywordSearchFollows) {
  auto u = make_user("ann");
  auto ch = make_character(u.id, "Mira");
  auto c = make_chat(u.id, ch.id);
  auto t = finished_turn(u.id, c.id, "my sister lives in Lisbon");
  auto m1 = memories().upsert(rec(c, t.user_message, 7));
  ASSERT_OK(m1);
  EXPECT_GT(m1->id, 0);
  EXPECT_DOUBLE_EQ(m1->importance, 0.25);
  auto hits = memories().keyword_search(7, "Where is LISBON?", 10);
  ASSERT_OK(hits);
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].memory_id, m1->id);

  auto edited = t.user_message;
  edited.content = "my sister moved to Porto";
  auto m2 = memories().upsert(rec(c, edited, 7));
  ASSERT_OK(m2);
  EXPECT_EQ(m2->id, m1->id);
  EXPECT_TRUE(memories().keyword_search(7, "lisbon", 10)->empty());
  EXPECT_EQ(memories().keyword_search(7, "porto", 10)->size(), 1u);
  EXPECT_TRUE(memories().keyword_search(8, "porto", 10)->empty());  // other space
}

TEST_P(MemoryStoreTest, KeywordQueryQuotingSurvivesFtsSyntax) {
  auto u = make_user("ann");
  auto ch = make_character(u.id, "Mira");
  auto c = make_chat(u.id, ch.id);
  auto t = finished_turn(u.id, c.id, "the NEAR cave \"quoted\" word AND stuff");
  ASSERT_OK(memories().upsert(rec(c, t.user_message, 1)));
  for (std::string q : {"\"", "NEAR(", "a OR", "*", "cave*) AND (", "col:cave", "\"quoted\"", "", "^x",
                        "it's", "''", "a & b | !c", "cave:*", "x <-> y", "\\'", "\xff\xfe cave"}) {
    auto r = memories().keyword_search(1, q, 5);
    ASSERT_TRUE(r.ok()) << q << ": " << r.error().message;
  }
  EXPECT_EQ(memories().keyword_search(1, "cave)", 5)->size(), 1u);
  EXPECT_EQ(memories().keyword_search(1, "\xff\xfe cave", 5)->size(), 1u);
  EXPECT_EQ(SqliteMemoryStore::fts_query("a ab \"cd\"ef it's AB"), "\"ab\" OR \"cd\" OR \"ef\" OR \"it's\"");
  EXPECT_EQ(postgres::PgMemoryStore::ts_query("a ab \"cd\"ef it's AB \xff\xfe"),
            "'ab' | 'cd' | 'ef' | 'it''s'");
}

TEST_P(MemoryStoreTest, LoadSpaceKeepsOnlyMatchingEmbedder) {
  auto u = make_user("ann");
  auto ch = make_character(u.id, "Mira");
  auto c = make_chat(u.id, ch.id);
  auto t1 = finished_turn(u.id, c.id, "one");
  auto t2 = finished_turn(u.id, c.id, "two");
  auto a = memories().upsert(rec(c, t1.user_message, 3, {0.6f, 0.8f}));
  ASSERT_OK(a);
  ASSERT_OK(memories().upsert(rec(c, t2.user_message, 3)));  // no embedding
  std::vector<Id> ids;
  std::vector<float> v;
  ASSERT_OK(memories().load_space(3, "fake-2", ids, v, 2));
  ASSERT_EQ(ids, std::vector<Id>{a->id});
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  ASSERT_OK(memories().load_space(3, "other", ids, v, 2));
  EXPECT_TRUE(ids.empty());
  EXPECT_EQ(*memories().space_size(3), 2);
}

TEST_P(MemoryStoreTest, DeletingMessageSubtreeRemovesOrphans) {
  auto u = make_user("ann");
  auto ch = make_character(u.id, "Mira");
  auto c = make_chat(u.id, ch.id);
  auto t1 = finished_turn(u.id, c.id, "first");
  auto t2 = finished_turn(u.id, c.id, "second");
  for (auto* m : {&t1.user_message, &t1.reply, &t2.user_message, &t2.reply}) {
    ASSERT_OK(memories().upsert(rec(c, *m, 5)));
  }
  ASSERT_OK(chats().delete_message(u.id, t2.user_message.id));  // takes its reply too
  auto removed = memories().delete_orphans(c.id);
  ASSERT_OK(removed);
  EXPECT_EQ(removed->size(), 2u);
  EXPECT_EQ(*memories().space_size(5), 2);
  auto gone = memories().delete_messages(std::vector<Id>{t1.reply.id});
  ASSERT_OK(gone);
  ASSERT_EQ(gone->size(), 1u);
  EXPECT_EQ((*gone)[0].space_key, 5);
  EXPECT_EQ(*memories().space_size(5), 1);
}

TEST_P(MemoryStoreTest, ChatMemoriesListsWhatAChatDeleteTakesAlong) {
  auto u = make_user("carol");
  auto ch = make_character(u.id, "Aria");
  auto c = make_chat(u.id, ch.id);
  auto other = make_chat(u.id, ch.id);
  auto t1 = finished_turn(u.id, c.id, "first");
  auto t2 = finished_turn(u.id, other.id, "elsewhere");
  for (auto* m : {&t1.user_message, &t1.reply}) ASSERT_OK(memories().upsert(rec(c, *m, 9)));
  ASSERT_OK(memories().upsert(rec(other, t2.user_message, 9)));
  auto listed = memories().chat_memories(c.id);
  ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 2u);
  for (const auto& r : *listed) EXPECT_EQ(r.space_key, 9);
  EXPECT_EQ(*memories().space_size(9), 3);  // listing deletes nothing
  ASSERT_OK(chats().delete_chat(u.id, c.id));
  EXPECT_EQ(*memories().space_size(9), 1);  // the chat's memories went with it
  auto after = memories().chat_memories(c.id);
  ASSERT_OK(after);
  EXPECT_TRUE(after->empty());
}

TEST_P(MemoryStoreTest, CharacterAndUserRemovalReportSpaces) {
  auto u = make_user("ann");
  auto a = make_character(u.id, "A");
  auto b = make_character(u.id, "B");
  auto ca = make_chat(u.id, a.id);
  auto cb = make_chat(u.id, b.id);
  ASSERT_OK(memories().upsert(rec(ca, finished_turn(u.id, ca.id, "x").user_message, 11)));
  ASSERT_OK(memories().upsert(rec(cb, finished_turn(u.id, cb.id, "y").user_message, 12)));
  auto s = memories().delete_character(u.id, a.id);
  ASSERT_OK(s);
  EXPECT_EQ(*s, std::vector<std::int64_t>{11});
  EXPECT_EQ(*memories().space_size(11), 0);
  EXPECT_EQ(*memories().space_size(12), 1);
  auto all = memories().delete_user(u.id);
  ASSERT_OK(all);
  EXPECT_EQ(*all, std::vector<std::int64_t>{12});
  // Deleting a chat cascades to its memories and their keyword index.
  auto t = finished_turn(u.id, cb.id, "zebra");
  ASSERT_OK(memories().upsert(rec(cb, t.user_message, 12)));
  ASSERT_OK(chats().delete_chat(u.id, cb.id));
  EXPECT_EQ(*memories().space_size(12), 0);
  EXPECT_TRUE(memories().keyword_search(12, "zebra", 5)->empty());
}

TEST_P(MemoryStoreTest, GenerationRecordAndTouch) {
  auto u = make_user("ann");
  auto ch = make_character(u.id, "Mira");
  auto c = make_chat(u.id, ch.id);
  auto t = finished_turn(u.id, c.id, "hello there");
  auto m = memories().upsert(rec(c, t.user_message, 2));
  ASSERT_OK(m);
  ASSERT_OK(memories().touch(std::vector<Id>{m->id}, 12345));
  EXPECT_EQ((*memories().get(std::vector<Id>{m->id}))[0].last_retrieved_at, 12345);
  GenerationRetrieval gr{"keyword", {{m->id, 0, 0.5, 0.25, 0.125, 0.875}}};
  ASSERT_OK(memories().record_generation(t.generation.id, gr));
  auto back = memories().read_generation(t.generation.id);
  ASSERT_OK(back);
  EXPECT_EQ(back->mode, "keyword");
  ASSERT_EQ(back->used.size(), 1u);
  EXPECT_EQ(back->used[0].memory_id, m->id);
  EXPECT_NEAR(back->used[0].score, 0.875, 1e-6);
  EXPECT_EQ(memories().read_generation(999)->mode, "");
}

TROUPE_STORE_BACKENDS(MemoryStoreTest);

}  // namespace
}  // namespace troupe::store::sqlite::testing
