#include <gtest/gtest.h>

#include "ChatTestUtil.h"
#include "chat/UserService.h"

namespace troupe::chat::testing {
namespace {

using std::chrono::milliseconds;

class ChatServiceTest : public ChatFixture {
 protected:
  // A chat with one finished turn; returns the turn.
  store::Turn finished_turn(store::Id chat, const std::string& text) {
    auto t = await(turns_->post_message(alice_, chat, text, ""));
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    EXPECT_TRUE(wait_idle(chat));
    return t.ok() ? *t : store::Turn{};
  }
};

TEST_F(ChatServiceTest, CreateUsesGreetingsAndDefaultTitle) {
  auto c = aria_;
  c.id = 0;
  c.first_mes = "Hi {{user}}, I am {{char}}.";
  c.alternate_greetings = {"Alt for <USER>", ""};
  auto ch = store_->characters().create_character(c);
  ASSERT_OK(ch);
  auto v = new_chat(alice_, ch->id);
  EXPECT_EQ(v.chat.title, "Chat with Aria");
  EXPECT_EQ(v.chat.character_id, ch->id);
  EXPECT_FALSE(v.running.has_value());
  EXPECT_EQ(v.last_seq, 0);
  auto p = path(v.chat.id);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].content, "Hi alice, I am Aria.");
  EXPECT_EQ(p[0].role, "assistant");
  EXPECT_EQ(p[0].swipe_count, 2);  // the empty alternate greeting is skipped
}

TEST_F(ChatServiceTest, CreateWithPersonaAndTitle) {
  store::Persona p;
  p.user_id = alice_.id;
  p.name = "Wren";
  auto persona = store_->characters().create_persona(p);
  ASSERT_OK(persona);
  auto v = new_chat(alice_, aria_.id, persona->id, "Night watch");
  EXPECT_EQ(v.chat.title, "Night watch");
  EXPECT_EQ(v.chat.persona_id, persona->id);
  EXPECT_EQ(path(v.chat.id)[0].content, "Welcome, Wren.");
}

TEST_F(ChatServiceTest, CreateValidation) {
  EXPECT_ERRC(await(chats_->create(alice_, aria_.id, 0, std::string(501, 't'))), Errc::too_large);
  EXPECT_ERRC(await(chats_->create(alice_, 999999, 0, "")), Errc::not_found);
  EXPECT_ERRC(await(chats_->create(bob_, aria_.id, 0, "")), Errc::not_found);
  EXPECT_ERRC(await(chats_->create(alice_, aria_.id, 999999, "")), Errc::not_found);
}

TEST_F(ChatServiceTest, GetAndListAreScopedToTheOwner) {
  auto v = new_chat(alice_, aria_.id);
  auto got = await(chats_->get(alice_, v.chat.id));
  ASSERT_OK(got);
  EXPECT_EQ(got->chat.id, v.chat.id);
  EXPECT_ERRC(await(chats_->get(bob_, v.chat.id)), Errc::not_found);
  auto list = await(chats_->list(alice_, 0, 0, 50));
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 1u);
  auto none = await(chats_->list(bob_, 0, 0, 50));
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(ChatServiceTest, GetShowsTheRunningGeneration) {
  llm_.set_script(Script{{"a"}, milliseconds(0), 0});
  auto v = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, v.chat.id, "hi", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));
  auto got = await(chats_->get(alice_, v.chat.id));
  ASSERT_OK(got);
  ASSERT_TRUE(got->running.has_value());
  EXPECT_EQ(got->running->id, turn->generation.id);
  EXPECT_EQ(got->running->status, "running");
  EXPECT_EQ(got->running->kind, "reply");  // loaded from the store
  EXPECT_EQ(got->last_seq, bus_->last_seq(v.chat.id));
  auto list = await(chats_->list(alice_, 0, 0, 50));
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].running.has_value());
  llm_.release();
  ASSERT_TRUE(wait_idle(v.chat.id));
  got = await(chats_->get(alice_, v.chat.id));
  ASSERT_OK(got);
  EXPECT_FALSE(got->running.has_value());
}

TEST_F(ChatServiceTest, LastSeqIsAResumeCursor) {
  auto v = new_chat(alice_, aria_.id);
  // A subscriber prepared the chat's stream; no event has been published yet.
  auto early = subscribe(alice_, v.chat.id, 0);
  auto before = await(chats_->get(alice_, v.chat.id));
  ASSERT_OK(before);
  finished_turn(v.chat.id, "hi");
  // Resuming from the cursor the client was given replays the whole turn.
  auto late = subscribe(alice_, v.chat.id, before->last_seq);
  auto evs = drain(*late);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.front().type, "message.created");
  EXPECT_EQ(evs.back().type, "generation.finished");
  EXPECT_EQ(evs.size(), drain(*early).size());
  auto after = await(chats_->get(alice_, v.chat.id));
  ASSERT_OK(after);
  EXPECT_EQ(after->last_seq, evs.back().seq);
  EXPECT_TRUE(drain(*subscribe(alice_, v.chat.id, after->last_seq)).empty());
}

TEST_F(ChatServiceTest, ANewChatIsStoredWithItsFirstSeqBlockSoItsStreamWritesNoOther) {
  auto v = new_chat(alice_, aria_.id);
  EXPECT_EQ(v.chat.seq_reserved, bus_->creation_block());
  EXPECT_EQ(v.last_seq, 0);
  ASSERT_TRUE(bus_->ready(v.chat.id, bus_->creation_block()));  // prepared before any subscriber
  auto sub = subscribe(alice_, v.chat.id, v.last_seq);
  finished_turn(v.chat.id, "hi");
  auto evs = drain(*sub);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.front().seq, 1);
  EXPECT_EQ(evs.back().type, "generation.finished");
  // The mark stored with the chat still covers every event: no reservation of its own.
  auto stored = store_->chats().get_chat(alice_.id, v.chat.id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->seq_reserved, bus_->creation_block());
  EXPECT_GE(stored->seq_reserved, evs.back().seq);
}

TEST_F(ChatServiceTest, ABranchIsStoredWithItsFirstSeqBlockLikeANewChat) {
  auto v = new_chat(alice_, aria_.id);
  finished_turn(v.chat.id, "hi");
  auto src = store_->chats().get_chat(alice_.id, v.chat.id);
  ASSERT_OK(src);
  auto b = await(chats_->branch(alice_, src->leaf_id));
  ASSERT_OK(b);
  EXPECT_NE(b->chat.id, v.chat.id);
  EXPECT_EQ(b->chat.seq_reserved, bus_->creation_block());
  EXPECT_EQ(b->last_seq, 0);
  ASSERT_TRUE(bus_->ready(b->chat.id, bus_->creation_block()));  // prepared before any subscriber
  auto sub = subscribe(alice_, b->chat.id, b->last_seq);
  finished_turn(b->chat.id, "and on the branch");
  auto evs = drain(*sub);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.front().seq, 1);
  EXPECT_EQ(evs.back().type, "generation.finished");
  auto stored = store_->chats().get_chat(alice_.id, b->chat.id);
  ASSERT_OK(stored);
  EXPECT_EQ(stored->seq_reserved, bus_->creation_block());  // no reservation of its own
  // Another user's message cannot be branched.
  EXPECT_ERRC(await(chats_->branch(bob_, src->leaf_id)), Errc::not_found);
}

TEST_F(ChatServiceTest, LastSeqAfterRestartIsTheReservedMark) {
  auto v = new_chat(alice_, aria_.id);
  finished_turn(v.chat.id, "hi");
  const auto last = bus_->last_seq(v.chat.id);
  // A new process: a fresh bus over the same store.
  sync::InProcessBusOptions bo;
  sync::InProcessBus fresh(*seq_, bo);
  Deps d = deps();
  ChatService restarted(Deps{d.config, d.db_pool, d.users, d.characters, d.chats, fresh, d.llm,
                             d.fmt, d.clock, d.tasks},
                        *gm_);
  auto got = await(restarted.get(alice_, v.chat.id));
  ASSERT_OK(got);
  EXPECT_GE(got->last_seq, last);
  // Events of the new process come after it.
  auto sub = await(restarted.subscribe(alice_, v.chat.id, got->last_seq));
  ASSERT_OK(sub);
  EXPECT_EQ((*sub)->try_next(), nullptr);  // nothing missed, no resync
  auto ev = fresh.publish(v.chat.id, "chat.updated", "");
  ASSERT_OK(ev);
  EXPECT_GT((*ev)->seq, got->last_seq);
  // An old cursor is told to resync.
  auto old = await(restarted.subscribe(alice_, v.chat.id, 1));
  ASSERT_OK(old);
  auto first = (*old)->try_next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->type, "resync");
}

TEST_F(ChatServiceTest, SubscribeToAnotherUsersChatIsNotFound) {
  auto v = new_chat(alice_, aria_.id);
  EXPECT_ERRC(await(chats_->subscribe(bob_, v.chat.id, 0)), Errc::not_found);
  EXPECT_ERRC(await(chats_->subscribe(alice_, 777777, 0)), Errc::not_found);
  EXPECT_EQ(bus_->subscriber_count(), 0u);
}

TEST_F(ChatServiceTest, MessagesPageThroughThePath) {
  auto v = new_chat(alice_, aria_.id);
  for (int i = 0; i < 3; ++i) finished_turn(v.chat.id, "m" + std::to_string(i));
  auto page = await(chats_->messages(alice_, v.chat.id, 0, 4));
  ASSERT_OK(page);
  ASSERT_EQ(page->messages.size(), 4u);
  EXPECT_EQ(page->messages.back().role, "assistant");
  EXPECT_NE(page->next_before, 0);
  auto older = await(chats_->messages(alice_, v.chat.id, page->next_before, 50));
  ASSERT_OK(older);
  EXPECT_EQ(older->messages.size(), 3u);
  EXPECT_EQ(older->next_before, 0);
  EXPECT_ERRC(await(chats_->messages(bob_, v.chat.id, 0, 10)), Errc::not_found);
  // `before` must be a message of this chat.
  auto other = new_chat(alice_, aria_.id);
  auto foreign = path(other.chat.id)[0].id;
  EXPECT_ERRC(await(chats_->messages(alice_, v.chat.id, foreign, 10)), Errc::not_found);
}

TEST_F(ChatServiceTest, EditPublishesMessageUpdated) {
  auto v = new_chat(alice_, aria_.id);
  auto turn = finished_turn(v.chat.id, "hi");
  auto sub = subscribe(alice_, v.chat.id, bus_->last_seq(v.chat.id));
  auto m = await(chats_->edit(alice_, turn.user_message.id, "hello instead"));
  ASSERT_OK(m);
  EXPECT_EQ(m->content, "hello instead");
  auto evs = drain(*sub);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].type, "message.updated");
  EXPECT_EQ(evs[0].body.at("message").at("id").as_int64(), turn.user_message.id);
  EXPECT_EQ(evs[0].body.at("message").at("content").as_string(), "hello instead");
  EXPECT_EQ(message(turn.user_message.id).content, "hello instead");

  EXPECT_ERRC(await(chats_->edit(bob_, turn.user_message.id, "x")), Errc::not_found);
  EXPECT_ERRC(await(chats_->edit(alice_, turn.user_message.id, std::string(256 * 1024 + 1, 'x'))),
              Errc::too_large);
  EXPECT_TRUE(drain(*sub).empty());
}

TEST_F(ChatServiceTest, DeletePublishesMessageDeletedAndChatUpdated) {
  auto v = new_chat(alice_, aria_.id);
  auto t1 = finished_turn(v.chat.id, "one");
  auto t2 = finished_turn(v.chat.id, "two");
  auto sub = subscribe(alice_, v.chat.id, bus_->last_seq(v.chat.id));
  ASSERT_OK(await(chats_->remove_message(alice_, t2.user_message.id)));
  auto evs = drain(*sub);
  ASSERT_EQ(types(evs), (std::vector<std::string>{"message.deleted", "chat.updated"}));
  EXPECT_EQ(evs[0].body.at("message_id").as_int64(), t2.user_message.id);
  EXPECT_EQ(evs[1].body.at("chat").at("leaf_id").as_int64(), t1.reply.id);
  EXPECT_EQ(evs[1].seq, evs[0].seq + 1);
  // last_seq is a real, resumable seq (not the store's reserved mark): the one before the event.
  EXPECT_EQ(evs[1].body.at("chat").at("last_seq").as_int64(), evs[0].seq);
  EXPECT_EQ(path(v.chat.id).back().id, t1.reply.id);
  EXPECT_ERRC(await(chats_->remove_message(alice_, t2.reply.id)), Errc::not_found);  // subtree
  EXPECT_ERRC(await(chats_->remove_message(bob_, t1.reply.id)), Errc::not_found);
  EXPECT_TRUE(drain(*sub).empty());
}

TEST_F(ChatServiceTest, SelectPublishesChatUpdated) {
  llm_.set_script(Script{{"first"}});
  auto v = new_chat(alice_, aria_.id);
  auto turn = finished_turn(v.chat.id, "hi");
  llm_.set_script(Script{{"second"}});
  auto regen = await(turns_->start_generation(alice_, v.chat.id, "regenerate", 0));
  ASSERT_OK(regen);
  ASSERT_TRUE(wait_idle(v.chat.id));
  EXPECT_EQ(path(v.chat.id).back().id, regen->reply.id);

  auto sub = subscribe(alice_, v.chat.id, bus_->last_seq(v.chat.id));
  auto sel = await(chats_->select(alice_, turn.reply.id));
  ASSERT_OK(sel);
  EXPECT_EQ(sel->chat.leaf_id, turn.reply.id);
  EXPECT_EQ(sel->last_seq, bus_->last_seq(v.chat.id));
  auto evs = drain(*sub);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].type, "chat.updated");
  EXPECT_EQ(evs[0].body.at("chat").at("leaf_id").as_int64(), turn.reply.id);
  const std::int64_t resume = evs[0].body.at("chat").at("last_seq").as_int64();
  EXPECT_EQ(resume, evs[0].seq - 1);
  auto stored = store_->chats().get_chat(alice_.id, v.chat.id);
  ASSERT_OK(stored);
  EXPECT_LT(resume, stored->seq_reserved);  // a block is reserved ahead of the stream
  // Resuming from it replays exactly this event.
  auto again = drain(*subscribe(alice_, v.chat.id, resume));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq, evs[0].seq);
  auto p = path(v.chat.id);
  EXPECT_EQ(p.back().content, "first");
  EXPECT_EQ(p.back().swipe_index, 0);
  EXPECT_EQ(p.back().swipe_count, 2);
  EXPECT_ERRC(await(chats_->select(bob_, turn.reply.id)), Errc::not_found);
}

TEST_F(ChatServiceTest, BranchCopiesThePathIntoANewChat) {
  auto v = new_chat(alice_, aria_.id);
  auto t1 = finished_turn(v.chat.id, "one");
  finished_turn(v.chat.id, "two");
  auto sub = subscribe(alice_, v.chat.id, bus_->last_seq(v.chat.id));
  auto br = await(chats_->branch(alice_, t1.reply.id));
  ASSERT_OK(br);
  EXPECT_NE(br->chat.id, v.chat.id);
  EXPECT_EQ(br->last_seq, 0);
  auto p = path(br->chat.id);
  ASSERT_EQ(p.size(), 3u);  // greeting, "one", its reply
  EXPECT_EQ(p[1].content, "one");
  EXPECT_EQ(p[2].content, "Hello, there");
  EXPECT_NE(p[2].id, t1.reply.id);
  EXPECT_EQ(path(v.chat.id).size(), 5u);  // the original is unchanged
  EXPECT_TRUE(drain(*sub).empty());       // nothing happened to the original chat
  EXPECT_ERRC(await(chats_->branch(bob_, t1.reply.id)), Errc::not_found);
  // The branch is a chat like any other.
  auto turn = await(turns_->post_message(alice_, br->chat.id, "three", ""));
  ASSERT_OK(turn);
  EXPECT_EQ(turn->user_message.parent_id, p[2].id);
  ASSERT_TRUE(wait_idle(br->chat.id));
}

TEST_F(ChatServiceTest, RemoveChatRefusedWhileGeneratingThenClosesSubscribers) {
  llm_.set_script(Script{{"a"}, milliseconds(0), 0});
  auto v = new_chat(alice_, aria_.id);
  auto sub = subscribe(alice_, v.chat.id, 0);
  ASSERT_OK(await(turns_->post_message(alice_, v.chat.id, "hi", "")));
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));
  EXPECT_ERRC(await(chats_->remove(alice_, v.chat.id)), Errc::conflict);
  llm_.release();
  ASSERT_TRUE(wait_idle(v.chat.id));
  EXPECT_ERRC(await(chats_->remove(bob_, v.chat.id)), Errc::not_found);
  ASSERT_OK(await(chats_->remove(alice_, v.chat.id)));
  EXPECT_TRUE(sub->closed());
  EXPECT_EQ(bus_->last_seq(v.chat.id), -1);
  EXPECT_ERRC(await(chats_->get(alice_, v.chat.id)), Errc::not_found);
  EXPECT_ERRC(await(chats_->remove(alice_, v.chat.id)), Errc::not_found);
}

TEST_F(ChatServiceTest, AuthServiceTokens) {
  auto created = auth_->create_user("carol", false);
  ASSERT_OK(created);
  EXPECT_EQ(created->token.rfind("trp_", 0), 0u);
  auto u = await(auth_->authenticate(created->token));
  ASSERT_OK(u);
  EXPECT_EQ(u->name, "carol");
  EXPECT_EQ(u->id, created->user.id);
  // Cached lookups answer the same.
  auto again = await(auth_->authenticate(created->token));
  ASSERT_OK(again);
  EXPECT_EQ(again->id, created->user.id);
  EXPECT_ERRC(await(auth_->authenticate("")), Errc::unauthorized);
  EXPECT_ERRC(await(auth_->authenticate("trp_nope")), Errc::unauthorized);
  EXPECT_ERRC(await(auth_->authenticate(std::string(201, 'a'))), Errc::unauthorized);
  EXPECT_ERRC(auth_->create_user("", false), Errc::bad_request);
  EXPECT_ERRC(auth_->create_user("carol", false), Errc::conflict);
  // Users exist already: no bootstrap admin.
  auto boot = auth_->bootstrap();
  ASSERT_OK(boot);
  EXPECT_FALSE(boot->has_value());
}

TEST_F(ChatServiceTest, UserServiceDeletesAUserWithEverythingOfTheirs) {
  UserService users(deps(), *gm_, *auth_, *chats_);
  auto admin = auth_->create_user("root", true);
  ASSERT_OK(admin);
  auto carol = auth_->create_user("carol", false);
  ASSERT_OK(carol);
  const store::User& c = carol->user;
  auto ch = make_character(c.id, "Cara");
  auto idle = new_chat(c, ch.id);
  auto busy = new_chat(c, ch.id);
  auto sub = subscribe(c, busy.chat.id, 0);
  llm_.set_script(Script{{"a", "b"}, milliseconds(0), 1});
  auto turn = await(turns_->post_message(c, busy.chat.id, "hello", "key"));
  ASSERT_OK(turn);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));
  ASSERT_OK(await(auth_->authenticate(carol->token)));  // now cached

  EXPECT_ERRC(await(users.remove(c, c.id)), Errc::forbidden);
  EXPECT_ERRC(await(users.remove(alice_, c.id)), Errc::forbidden);
  EXPECT_ERRC(await(users.remove(admin->user, admin->user.id)), Errc::bad_request);
  EXPECT_ERRC(await(users.remove(admin->user, 99999999)), Errc::not_found);
  ASSERT_OK(await(auth_->authenticate(carol->token)));  // nothing happened yet

  ASSERT_OK(await(users.remove(admin->user, c.id)));
  EXPECT_ERRC(await(auth_->authenticate(carol->token)), Errc::unauthorized);
  EXPECT_FALSE(gm_->running(busy.chat.id).has_value()) << "the running generation was stopped";
  EXPECT_EQ(llm_.cancelled(), 1);
  EXPECT_TRUE(sub->closed());
  EXPECT_ERRC(store_->users().get_user(c.id), Errc::not_found);
  EXPECT_ERRC(store_->chats().get_chat(c.id, idle.chat.id), Errc::not_found);
  EXPECT_ERRC(store_->chats().get_chat(c.id, busy.chat.id), Errc::not_found);
  EXPECT_ERRC(store_->chats().get_generation(c.id, turn->generation.id), Errc::not_found);
  EXPECT_ERRC(store_->characters().get_character(c.id, ch.id), Errc::not_found);
  EXPECT_ERRC(await(users.remove(admin->user, c.id)), Errc::not_found);
  // Others are untouched.
  ASSERT_OK(store_->users().get_user(alice_.id));
  ASSERT_OK(store_->characters().get_character(alice_.id, aria_.id));
}

}  // namespace
}  // namespace troupe::chat::testing
