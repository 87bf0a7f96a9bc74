// Memory store: write_turn stores a turn's memories, its generation record and retrieval times in
// one write; a bad memory fails the whole turn write and nothing of it is stored.
#include "store/sqlite/SqliteMemoryStore.h"
#include "StoreTestUtil.h"

namespace troupe::store::sqlite::testing {
namespace {

class MemoryTurnWriteTest : public StoreTest {
 protected:
  MemoryStore& memories() { return store_->memories(); }

  MemoryRecord rec(const Chat& c, const Message& m, const std::string& text, std::int64_t space) {
    MemoryRecord r;
    r.space_key = space;
    r.user_id = c.user_id;
    r.character_id = c.character_id;
    r.chat_id = c.id;
    r.message_id = m.id;
    r.speaker = m.role;
    r.text = text;
    r.created_at = 1000;
    r.importance = 0.5;
    r.embedder = "fake-2";
    r.embedding = {0.6f, 0.8f};
    return r;
  }
};

TEST_F(MemoryTurnWriteTest, StoresMemoriesRecordAndTouchTogether) {
  auto u = make_user("ann");
  auto ch = make_character(u.id, "Mira");
  auto c = make_chat(u.id, ch.id);
  auto old = finished_turn(u.id, c.id, "an older walrus");
  auto earlier = memories().upsert(rec(c, old.user_message, "an older walrus", 4));
  ASSERT_OK(earlier);
  auto t = finished_turn(u.id, c.id, "the lighthouse keeper");

  TurnWrite w;
  w.memories.push_back(rec(c, t.user_message, "the lighthouse keeper", 4));
  w.memories.push_back(rec(c, t.reply, "re: the lighthouse keeper", 4));
  w.generation_id = t.generation.id;
  w.retrieval = {"vector", {{earlier->id, 0, 0.5, 0.25, 0.125, 0.75}}};
  w.touched = {earlier->id};
  w.touched_at = 4242;
  auto out = memories().write_turn(w);
  ASSERT_OK(out);
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].message_id, t.user_message.id);
  EXPECT_EQ((*out)[1].message_id, t.reply.id);
  EXPECT_NE((*out)[0].id, (*out)[1].id);
  EXPECT_EQ(*memories().space_size(4), 3);
  EXPECT_EQ(memories().keyword_search(4, "lighthouse", 10)->size(), 2u);
  std::vector<Id> ids;
  std::vector<float> v;
  ASSERT_OK(memories().load_space(4, "fake-2", ids, v, 2));
  EXPECT_EQ(ids.size(), 3u);

  auto back = memories().read_generation(t.generation.id);
  ASSERT_OK(back);
  EXPECT_EQ(back->mode, "vector");
  ASSERT_EQ(back->used.size(), 1u);
  EXPECT_EQ(back->used[0].memory_id, earlier->id);
  EXPECT_EQ((*memories().get(std::vector<Id>{earlier->id}))[0].last_retrieved_at, 4242);

  // The same turn again replaces its memories (same message ids) instead of adding rows.
  w.memories[1].text = "re: the lighthouse keeper, edited";
  auto again = memories().write_turn(w);
  ASSERT_OK(again);
  EXPECT_EQ((*again)[1].id, (*out)[1].id);
  EXPECT_EQ(*memories().space_size(4), 3);
  EXPECT_EQ(memories().keyword_search(4, "edited", 10)->size(), 1u);
}

TEST_F(MemoryTurnWriteTest, BadMemoryFailsTheWholeTurnWrite) {
  auto u = make_user("ann");
  auto ch = make_character(u.id, "Mira");
  auto c = make_chat(u.id, ch.id);
  auto t = finished_turn(u.id, c.id, "the lighthouse keeper");
  TurnWrite w;
  w.memories.push_back(rec(c, t.user_message, "the lighthouse keeper", 5));
  auto bad = rec(c, t.reply, "no message", 5);
  bad.message_id = 0;
  w.memories.push_back(bad);
  w.generation_id = t.generation.id;
  w.retrieval = {"keyword", {}};
  auto out = memories().write_turn(w);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, Errc::bad_request);
  EXPECT_EQ(*memories().space_size(5), 0);
  EXPECT_EQ(memories().read_generation(t.generation.id)->mode, "");

  // An embedding without its embedder's name is refused the same way.
  TurnWrite w2;
  auto nameless = rec(c, t.user_message, "the lighthouse keeper", 5);
  nameless.embedder.clear();
  w2.memories.push_back(nameless);
  EXPECT_FALSE(memories().write_turn(w2).ok());
  EXPECT_EQ(*memories().space_size(5), 0);
}

TEST_F(MemoryTurnWriteTest, EmptyTurnWriteStoresNothing) {
  auto out = memories().write_turn(TurnWrite{});
  ASSERT_OK(out);
  EXPECT_TRUE(out->empty());
}

}  // namespace
}  // namespace troupe::store::sqlite::testing
