// HistoryCache on its own (hits, tickets, bounds) and through the services: every prompt built
// from the cache must be the prompt the store's path would give, after any change to the chat.
#include "chat/HistoryCache.h"

#include <gtest/gtest.h>

#include "ChatTestUtil.h"

namespace troupe::chat::testing {
namespace {

store::Message msg(store::Id id, store::Id parent, const std::string& text, store::Id chat = 7) {
  store::Message m;
  m.id = id;
  m.chat_id = chat;
  m.parent_id = parent;
  m.role = id % 2 ? "user" : "assistant";
  m.content = text;
  return m;
}

std::vector<std::string> texts(const std::vector<store::Message>& path) {
  std::vector<std::string> out;
  for (const auto& m : path) out.push_back(m.content);
  return out;
}

TEST(HistoryCache, ExtendsOnlyAPathWhoseLeafIsTheNewMessagesParent) {
  HistoryCache c(16, 1 << 20);
  HistoryCache::Ticket t = c.ticket();
  c.remember(7, {msg(1, 0, "a"), msg(2, 1, "b")}, t);
  auto hit = c.extend(msg(3, 2, "c"), t);
  ASSERT_TRUE(hit);
  EXPECT_EQ(texts(hit->messages), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(hit->messages[1].active_child_id, 3);  // the old leaf now points at the new message
  EXPECT_FALSE(c.extend(msg(5, 1, "swipe"), t));        // hangs off an older message
  EXPECT_FALSE(c.extend(msg(3, 2, "c", /*chat=*/8), t));  // another chat
  EXPECT_FALSE(c.extend(msg(9, 0, "root"), t));
  auto st = c.stats();
  EXPECT_EQ(st.hits, 1u);
  EXPECT_EQ(st.misses, 3u);
  // The hit handed the path over (its generation remembers the longer one): nothing is left
  // to extend twice, and its bytes are no longer counted.
  EXPECT_EQ(st.chats, 0u);
  EXPECT_EQ(st.bytes, 0u);
  EXPECT_FALSE(c.extend(msg(3, 2, "c"), t));
  hit->messages.push_back(msg(4, 3, "d"));
  c.remember(7, std::move(*hit), t);
  auto next = c.extend(msg(5, 4, "e"), t);
  ASSERT_TRUE(next);
  EXPECT_EQ(texts(next->messages), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

TEST(HistoryCache, CountedCostsTravelWithThePath) {
  HistoryCache c(16, 1 << 20);
  HistoryCache::Ticket t = c.ticket();
  c.remember(7, HistoryPath{{msg(1, 0, "a"), msg(2, 1, "bb")}, {11, 12}}, t);
  auto hit = c.extend(msg(3, 2, "ccc"), t);
  ASSERT_TRUE(hit);
  // The path's costs come back as remembered; the new message is not counted yet.
  EXPECT_EQ(hit->costs, (std::vector<int>{11, 12}));
  int counted = 0;
  hit->count_rest([&](std::string_view text) {
    ++counted;
    return static_cast<int>(text.size());
  });
  EXPECT_EQ(counted, 1);
  EXPECT_EQ(hit->costs, (std::vector<int>{11, 12, 3}));
  hit->drop_front(2);
  EXPECT_EQ(texts(hit->messages), (std::vector<std::string>{"ccc"}));
  EXPECT_EQ(hit->costs, (std::vector<int>{3}));
  // A path read from the store has no costs: every message is counted once.
  HistoryPath read{{msg(1, 0, "a"), msg(2, 1, "bb")}, {}};
  read.count_rest([](std::string_view text) { return static_cast<int>(text.size()) * 2; });
  EXPECT_EQ(read.costs, (std::vector<int>{2, 4}));
}

TEST(HistoryCache, AFillReadBeforeAForgetIsDropped) {
  HistoryCache c(16, 1 << 20);
  HistoryCache::Ticket before = c.ticket();
  c.forget(99);  // any chat: the fill may have read text an edit has since replaced
  c.remember(7, {msg(1, 0, "a"), msg(2, 1, "b")}, before);
  HistoryCache::Ticket t = 0;
  EXPECT_FALSE(c.extend(msg(3, 2, "c"), t));
  c.remember(7, {msg(1, 0, "a"), msg(2, 1, "b")}, c.ticket());
  EXPECT_TRUE(c.extend(msg(3, 2, "c"), t));
  c.remember(7, {msg(1, 0, "a"), msg(2, 1, "b")}, c.ticket());
  c.forget(7);
  EXPECT_FALSE(c.extend(msg(3, 2, "c"), t));
  EXPECT_EQ(c.stats().chats, 0u);
  // A generation that started before a forget must not put its path back.
  c.remember(7, {msg(1, 0, "a"), msg(2, 1, "b")}, c.ticket());
  auto taken = c.extend(msg(3, 2, "c"), t);
  ASSERT_TRUE(taken);
  c.forget(7);  // e.g. the user edited a message while the reply streamed
  c.remember(7, std::move(*taken), t);
  EXPECT_EQ(c.stats().chats, 0u);
}

TEST(HistoryCache, StaysWithinItsChatAndByteBoundsLeastRecentlyUsedFirst) {
  HistoryCache c(3, 1 << 20);
  for (store::Id chat = 1; chat <= 3; ++chat) c.remember(chat, {msg(2, 1, "x", chat)}, c.ticket());
  HistoryCache::Ticket t = 0;
  c.remember(1, {msg(2, 1, "x", 1)}, c.ticket());  // chat 1 is now the most recently used
  c.remember(4, {msg(2, 1, "x", 4)}, c.ticket());
  EXPECT_EQ(c.stats().chats, 3u);
  EXPECT_FALSE(c.extend(msg(3, 2, "y", 2), t));  // chat 2 was the least recently used
  EXPECT_TRUE(c.extend(msg(3, 2, "y", 1), t));
  EXPECT_TRUE(c.extend(msg(3, 2, "y", 3), t));
  EXPECT_TRUE(c.extend(msg(3, 2, "y", 4), t));

  HistoryCache small(100, 4096);
  small.remember(1, {msg(2, 1, std::string(3000, 'a'), 1)}, small.ticket());
  small.remember(2, {msg(2, 1, std::string(3000, 'b'), 2)}, small.ticket());
  EXPECT_EQ(small.stats().chats, 1u);
  EXPECT_LE(small.stats().bytes, 4096u);
  small.remember(3, {msg(2, 1, std::string(5000, 'c'), 3)}, small.ticket());  // alone too big
  EXPECT_FALSE(small.extend(msg(3, 2, "y", 3), t));
  small.clear();
  EXPECT_EQ(small.stats().chats, 0u);
  EXPECT_EQ(small.stats().bytes, 0u);
}

// Through the services: the prompt's history, without the system message.
class PromptHistoryTest : public ChatFixture {
 protected:
  std::vector<std::string> last_prompt() {
    auto reqs = llm_.requests();
    std::vector<std::string> out;
    if (reqs.empty()) return out;
    for (const auto& m : reqs.back().messages) {
      if (m.role != "system") out.push_back(m.content);
    }
    return out;
  }
  store::Turn say(store::Id chat, const std::string& text, const std::string& reply) {
    llm_.set_script(Script{{reply}});
    auto t = await(turns_->post_message(alice_, chat, text, ""));
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    EXPECT_TRUE(wait_idle(chat));
    return t.ok() ? *t : store::Turn{};
  }
  std::vector<std::string> stored_path(store::Id chat) { return texts(path(chat)); }
};

TEST_F(PromptHistoryTest, EveryTurnTakesItsHistoryFromTheCacheFromTheGreetingOn) {
  auto chat = new_chat(alice_, aria_.id).chat.id;
  std::vector<std::string> expected{"Welcome, alice."};
  for (int i = 1; i <= 5; ++i) {
    const std::string u = "u" + std::to_string(i), r = "r" + std::to_string(i);
    say(chat, u, r);
    expected.push_back(u);
    EXPECT_EQ(last_prompt(), expected) << "turn " << i;
    expected.push_back(r);
    EXPECT_EQ(stored_path(chat), expected);
  }
  auto st = gm_->history_cache().stats();
  EXPECT_EQ(st.hits, 5u);  // the first turn too: the chat's creation cached its greeting
  EXPECT_EQ(st.misses, 0u);
  EXPECT_EQ(st.chats, 1u);
}

TEST_F(PromptHistoryTest, AChatWithoutAGreetingReadsItsFirstHistoryFromTheStore) {
  store::Character mute = make_character(alice_.id, "Mute");
  mute.first_mes.clear();
  mute.alternate_greetings.clear();
  ASSERT_OK(store_->characters().update_character(mute));
  auto chat = new_chat(alice_, mute.id).chat.id;
  say(chat, "u1", "r1");
  EXPECT_EQ(last_prompt(), (std::vector<std::string>{"u1"}));
  say(chat, "u2", "r2");
  EXPECT_EQ(last_prompt(), (std::vector<std::string>{"u1", "r1", "u2"}));
  auto st = gm_->history_cache().stats();
  EXPECT_EQ(st.misses, 1u);
  EXPECT_EQ(st.hits, 1u);
}

TEST_F(PromptHistoryTest, AGreetingSwipedBeforeTheFirstTurnIsTheOneInItsPrompt) {
  store::Character two = make_character(alice_.id, "Two");
  two.first_mes = "First hello.";
  two.alternate_greetings = {"Second hello."};
  ASSERT_OK(store_->characters().update_character(two));
  auto v = new_chat(alice_, two.id);
  auto p = path(v.chat.id);
  ASSERT_EQ(p.size(), 1u);
  auto swipes = await(chats_->siblings(alice_, p[0].id));
  ASSERT_OK(swipes);
  ASSERT_EQ(swipes->ids.size(), 2u);
  ASSERT_OK(await(chats_->select(alice_, swipes->ids[1])));  // forgets the cached path
  say(v.chat.id, "u1", "r1");
  EXPECT_EQ(last_prompt(), (std::vector<std::string>{"Second hello.", "u1"}));
}

TEST_F(PromptHistoryTest, EveryOtherChangeToTheChatIsSeenByTheNextPrompt) {
  auto chat = new_chat(alice_, aria_.id).chat.id;
  auto t1 = say(chat, "one", "first");
  auto t2 = say(chat, "two", "second");

  // Edit an earlier message.
  ASSERT_OK(await(chats_->edit(alice_, t1.user_message.id, "ONE")));
  auto t3 = say(chat, "three", "third");
  EXPECT_EQ(last_prompt(), (std::vector<std::string>{"Welcome, alice.", "ONE", "first", "two",
                                                     "second", "three"}));

  // Regenerate: the next prompt holds the new swipe, not the replaced reply.
  llm_.set_script(Script{{"third again"}});
  ASSERT_OK(await(turns_->start_generation(alice_, chat, "regenerate", 0)));
  ASSERT_TRUE(wait_idle(chat));
  say(chat, "four", "fourth");
  EXPECT_EQ(last_prompt(), (std::vector<std::string>{"Welcome, alice.", "ONE", "first", "two",
                                                     "second", "three", "third again", "four"}));

  // Continue: the next prompt holds the continued text.
  llm_.set_script(Script{{" and more"}});
  ASSERT_OK(await(turns_->start_generation(alice_, chat, "continue", 0)));
  ASSERT_TRUE(wait_idle(chat));
  say(chat, "five", "fifth");
  EXPECT_EQ(last_prompt().at(last_prompt().size() - 2), "fourth and more");

  // Delete the last turn ("five" and its reply).
  auto p = path(chat);
  ASSERT_OK(await(chats_->remove_message(alice_, p.at(p.size() - 2).id)));
  say(chat, "six", "sixth");
  EXPECT_EQ(last_prompt(), (std::vector<std::string>{"Welcome, alice.", "ONE", "first", "two",
                                                     "second", "three", "third again", "four",
                                                     "fourth and more", "six"}));

  // Select the first reply to "three" again.
  ASSERT_OK(await(chats_->select(alice_, t3.reply.id)));
  say(chat, "seven", "seventh");
  EXPECT_EQ(last_prompt(), (std::vector<std::string>{"Welcome, alice.", "ONE", "first", "two",
                                                     "second", "three", "third", "seven"}));
  EXPECT_EQ(stored_path(chat), (std::vector<std::string>{"Welcome, alice.", "ONE", "first", "two",
                                                         "second", "three", "third", "seven",
                                                         "seventh"}));
  (void)t2;
  // Each prompt above was checked against the store's path; most came from the cache.
  EXPECT_GE(gm_->history_cache().stats().hits, 2u);
}

class SmallContextPromptTest : public PromptHistoryTest {
 protected:
  void configure(Config& c) override {
    c.llm.context_size = 300;  // history budget: the minimum (256)
    c.llm.max_tokens = 16;
  }
};

TEST_F(SmallContextPromptTest, ACachedHistoryIsCutToTheBudgetAsAStoreReadIs) {
  auto chat = new_chat(alice_, aria_.id).chat.id;
  const std::string filler(200, 'x');  // ~50 tokens a message: a few fit in the budget
  for (int i = 0; i < 8; ++i) say(chat, filler + std::to_string(i), filler + "r" + std::to_string(i));
  auto cached = last_prompt();
  ASSERT_GT(gm_->history_cache().stats().hits, 0u);
  // What is cached is what the prompt could hold, not the whole chat.
  std::size_t whole = 0;
  for (const auto& m : path(chat)) whole += sizeof(m) + m.content.size() + m.role.size() + m.status.size();
  EXPECT_LT(gm_->history_cache().stats().bytes, whole / 2);
  // The same turn again with nothing cached reads the store: the same prompt.
  gm_->history_cache().clear();
  auto p = path(chat);
  ASSERT_OK(await(chats_->remove_message(alice_, p.at(p.size() - 2).id)));
  gm_->history_cache().clear();
  say(chat, filler + "7", filler + "r7");
  EXPECT_EQ(last_prompt(), cached);
  EXPECT_LT(cached.size(), 16u);  // the budget cut the oldest messages
}

}  // namespace
}  // namespace troupe::chat::testing
