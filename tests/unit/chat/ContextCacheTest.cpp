// ContextCache on its own (hits, epochs, tickets, bounds) and through the services: a turn served
// from the cache must see every stored change to the chat's character, persona and the chat itself.
#include "chat/ContextCache.h"

#include <gtest/gtest.h>

#include "ChatTestUtil.h"
#include "chat/CharacterService.h"

namespace troupe::chat::testing {
namespace {

ChatContext context(store::Id chat, store::Id user, const std::string& description) {
  ChatContext c;
  c.chat.id = chat;
  c.chat.user_id = user;
  store::Character ch;
  ch.id = 100 + chat;
  ch.user_id = user;
  ch.description = description;
  ch.avatar_png = std::string(1000, 'p');
  c.who = std::make_shared<const Participants>(std::move(ch), std::nullopt);
  return c;
}

TEST(ContextCache, AHitSharesTheParticipantsAndTheirPromptPrefix) {
  ContextCache c(16, 1 << 20);
  auto ctx = context(7, 1, "A cartographer, {{user}}'s guide.");
  c.put(1, ctx, c.ticket(1));
  auto a = c.get(1, 7);
  auto b = c.get(1, 7);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->who.get(), b->who.get());  // one copy of the card for every turn
  EstimateTokenCounter counter;
  PromptBuilder builder(PromptSettings{"You are {{char}}.", 4096, 100, 0.8, 0.9}, counter);
  auto p1 = a->who->prefix(builder, "Mara");
  auto p2 = b->who->prefix(builder, "Mara");
  EXPECT_EQ(p1.get(), p2.get());  // made once
  EXPECT_NE(p1->system.find("Mara's guide"), std::string::npos);
  auto other = b->who->prefix(builder, "Ivo");  // another name: made again, with that name
  EXPECT_NE(other->system.find("Ivo's guide"), std::string::npos);
  EXPECT_EQ(other->user_name, "Ivo");
}

TEST(ContextCache, ServesOnlyItsOwnersCurrentEntries) {
  ContextCache c(16, 1 << 20);
  c.put(1, context(7, 1, "old"), c.ticket(1));
  auto hit = c.get(1, 7);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->who->character.description, "old");
  EXPECT_TRUE(hit->who->character.avatar_png.empty());  // prompts never use it
  EXPECT_FALSE(c.get(2, 7));  // another user's chat: the store decides (404)
  EXPECT_FALSE(c.get(1, 8));
  c.put(2, context(7, 1, "x"), c.ticket(2));  // records of another user are never cached
  EXPECT_EQ(c.get(1, 7)->who->character.description, "old");

  c.invalidate_user(1);
  EXPECT_FALSE(c.get(1, 7));
  auto st = c.stats();
  EXPECT_EQ(st.hits, 2u);
  EXPECT_EQ(st.misses, 3u);
  EXPECT_EQ(st.chats, 0u);  // the stale entry went at the lookup
}

TEST(ContextCache, ADeletedUsersEntriesGoAtOnce) {
  ContextCache c(16, 1 << 20);
  c.put(1, context(7, 1, "a"), c.ticket(1));
  c.put(1, context(8, 1, "b"), c.ticket(1));
  c.put(2, context(9, 2, "c"), c.ticket(2));
  const auto t = c.ticket(1);  // a fill under way for user 1
  c.forget_user(1);
  EXPECT_EQ(c.stats().chats, 1u);
  EXPECT_TRUE(c.get(2, 9));
  c.put(1, context(7, 1, "late"), t);
  EXPECT_FALSE(c.get(1, 7));
}

TEST(ContextCache, AFillReadBeforeAChangeIsNeverServed) {
  ContextCache c(16, 1 << 20);
  auto before = c.ticket(1);
  c.invalidate_user(1);  // the user changed a character while the fill was reading
  c.put(1, context(7, 1, "old"), before);
  EXPECT_FALSE(c.get(1, 7));
  // A fill that raced a change but was stored first is stale at the next lookup.
  auto t = c.ticket(1);
  c.put(1, context(7, 1, "old"), t);
  c.invalidate_user(1);
  EXPECT_FALSE(c.get(1, 7));
  c.put(1, context(7, 1, "new"), c.ticket(1));
  EXPECT_EQ(c.get(1, 7)->who->character.description, "new");
  // clear() also drops fills in flight.
  auto t2 = c.ticket(1);
  c.clear();
  c.put(1, context(7, 1, "again"), t2);
  EXPECT_FALSE(c.get(1, 7));
}

TEST(ContextCache, StaysWithinItsChatAndByteBoundsLeastRecentlyUsedFirst) {
  ContextCache c(3, 1 << 20);
  for (store::Id chat = 1; chat <= 3; ++chat) c.put(1, context(chat, 1, "d"), c.ticket(1));
  ASSERT_TRUE(c.get(1, 1));  // chat 1 is now the most recently used
  c.put(1, context(4, 1, "d"), c.ticket(1));
  EXPECT_EQ(c.stats().chats, 3u);
  EXPECT_FALSE(c.get(1, 2));
  EXPECT_TRUE(c.get(1, 1));
  EXPECT_TRUE(c.get(1, 4));

  ContextCache small(100, 8192);
  small.put(1, context(1, 1, std::string(5000, 'a')), small.ticket(1));
  small.put(1, context(2, 1, std::string(5000, 'b')), small.ticket(1));
  EXPECT_EQ(small.stats().chats, 1u);
  EXPECT_LE(small.stats().bytes, 8192u);
  small.put(1, context(3, 1, std::string(9000, 'c')), small.ticket(1));  // alone too big
  EXPECT_FALSE(small.get(1, 3));
  small.clear();
  EXPECT_EQ(small.stats().chats, 0u);
  EXPECT_EQ(small.stats().bytes, 0u);
}

// Through the services (the fixture's services share one ContextCache, as the app's do).
class CachedContextTest : public ChatFixture {
 protected:
  std::string last_system() {
    auto reqs = llm_.requests();
    std::string out;
    if (reqs.empty()) return out;
    for (const auto& m : reqs.back().messages) {
      if (m.role == "system") out += m.content + "\n";
    }
    return out;
  }
  Result<store::Turn> say(const store::User& u, store::Id chat, const std::string& text) {
    llm_.set_script(Script{{"ok"}});
    auto t = await(turns_->post_message(u, chat, text, ""));
    if (t.ok()) {
      EXPECT_TRUE(wait_idle(chat));
    }
    return t;
  }
  CharacterService characters() { return CharacterService(deps()); }
  // Alice's default persona, a cartographer.
  store::Persona add_cartographer() {
    store::Persona p;
    p.name = "Alice";
    p.description = "a cartographer";
    p.is_default = true;
    auto made = await(characters().create_persona(alice_, p));
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
    return made.ok() ? *made : p;
  }
  Status retire(store::Persona p) {
    p.description = "a retired cartographer";
    auto r = await(characters().update_persona(alice_, p));
    return r.ok() ? Status{} : r.error();
  }
};

TEST_F(CachedContextTest, EveryStoredChangeToCharacterPersonaOrChatIsSeenByTheNextTurn) {
  auto chat = new_chat(alice_, aria_.id).chat.id;
  ASSERT_OK(say(alice_, chat, "one"));
  ASSERT_OK(say(alice_, chat, "two"));
  EXPECT_GE(contexts_.stats().hits, 1u);
  EXPECT_NE(last_system().find("Aria keeps the lighthouse."), std::string::npos) << last_system();

  // The character is edited: the next turn's prompt has the new description.
  auto cs = characters();
  store::Character edited = aria_;
  edited.description = "{{char}} sails at dawn.";
  ASSERT_OK(await(cs.update(alice_, edited)));
  ASSERT_OK(say(alice_, chat, "three"));
  EXPECT_NE(last_system().find("Aria sails at dawn."), std::string::npos) << last_system();
  ASSERT_OK(say(alice_, chat, "four"));  // and from the cache again after that
  EXPECT_NE(last_system().find("Aria sails at dawn."), std::string::npos) << last_system();

  // A default persona appears: chats without their own persona use it from the next turn on.
  store::Persona p = add_cartographer();
  ASSERT_OK(say(alice_, chat, "five"));
  EXPECT_NE(last_system().find("a cartographer"), std::string::npos) << last_system();
  ASSERT_OK(retire(p));
  ASSERT_OK(say(alice_, chat, "six"));
  EXPECT_NE(last_system().find("a retired cartographer"), std::string::npos) << last_system();
  ASSERT_OK(await(cs.remove_persona(alice_, p.id)));
  ASSERT_OK(say(alice_, chat, "seven"));
  EXPECT_EQ(last_system().find("cartographer"), std::string::npos) << last_system();

  // Another user never gets alice's cached chat.
  EXPECT_ERRC(say(bob_, chat, "mine?"), Errc::not_found);

  // The chat is deleted: its entry goes at once; a turn in it is refused, nothing is stored.
  const auto held = contexts_.stats();
  ASSERT_OK(await(chats_->remove(alice_, chat)));
  EXPECT_EQ(contexts_.stats().chats, held.chats - 1);
  EXPECT_LT(contexts_.stats().bytes, held.bytes);
  EXPECT_ERRC(say(alice_, chat, "gone?"), Errc::not_found);

  // So is a turn in a chat whose character was deleted.
  auto other = new_chat(alice_, aria_.id).chat.id;
  ASSERT_OK(say(alice_, other, "hello"));
  ASSERT_OK(say(alice_, other, "again"));
  ASSERT_OK(await(cs.remove(alice_, aria_.id)));
  EXPECT_ERRC(say(alice_, other, "still there?"), Errc::not_found);
}

TEST_F(CachedContextTest, ANewChatsSubscriptionAndFirstTurnReadNothingMore) {
  const auto before = contexts_.stats();
  auto chat = new_chat(alice_, aria_.id).chat.id;
  EXPECT_EQ(contexts_.stats().chats, before.chats + 1);  // filled from the creation's own reads
  auto sub = subscribe(alice_, chat);
  ASSERT_TRUE(sub);
  EXPECT_EQ(contexts_.stats().hits, before.hits + 1);
  ASSERT_OK(say(alice_, chat, "one"));
  EXPECT_EQ(contexts_.stats().hits, before.hits + 2);
  EXPECT_EQ(contexts_.stats().misses, before.misses);
  EXPECT_NE(last_system().find("Aria keeps the lighthouse."), std::string::npos) << last_system();
  auto evs = collect_until(*sub, "generation.finished");
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.front().seq, 1);
  // Someone else never subscribes through alice's entry.
  EXPECT_ERRC(await(chats_->subscribe(bob_, chat, 0)), Errc::not_found);
}

TEST_F(CachedContextTest, ANewChatUsesThePersonaInEffectWhenItWasCreated) {
  store::Persona p = add_cartographer();
  auto chat = new_chat(alice_, aria_.id).chat.id;
  ASSERT_OK(say(alice_, chat, "one"));
  EXPECT_NE(last_system().find("a cartographer"), std::string::npos) << last_system();
  // A persona changed after the chat was made (its cached context) is seen by the next turn.
  ASSERT_OK(retire(p));
  ASSERT_OK(say(alice_, chat, "two"));
  EXPECT_NE(last_system().find("a retired cartographer"), std::string::npos) << last_system();
}

TEST_F(CachedContextTest, AStreamThatIsNoLongerPreparedIsPreparedOnTheStoreHop) {
  auto chat = new_chat(alice_, aria_.id).chat.id;
  ASSERT_OK(say(alice_, chat, "one"));
  const auto hits = contexts_.stats().hits;
  bus_->drop_chat(chat);  // its stream is gone: a cached context alone must not start a turn
  ASSERT_OK(say(alice_, chat, "two"));
  EXPECT_EQ(contexts_.stats().hits, hits);
  EXPECT_TRUE(bus_->ready(chat, 1));
  ASSERT_OK(say(alice_, chat, "three"));
  EXPECT_EQ(contexts_.stats().hits, hits + 1);
}

}  // namespace
}  // namespace troupe::chat::testing
