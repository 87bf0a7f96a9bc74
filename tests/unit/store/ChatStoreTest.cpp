#include <future>

#include "StoreTestUtil.h"

namespace troupe::store::sqlite::testing {

class ChatStoreTest : public StoreBackendTest {
 protected:
  void SetUp() override {
    StoreBackendTest::SetUp();
    if (HasFatalFailure()) return;
    alice_ = make_user("alice");
    bob_ = make_user("bob");
    aria_ = make_character(alice_.id, "Aria");
  }
  User alice_, bob_;
  Character aria_;
};
TROUPE_STORE_BACKENDS(ChatStoreTest);

TEST_P(ChatStoreTest, CreateChatWithGreetings) {
  Chat c = make_chat(alice_.id, aria_.id, {"Hi!", "Hello!", "Yo!"}, "first");
  EXPECT_GT(c.id, 0);
  EXPECT_EQ(c.title, "first");
  EXPECT_EQ(c.user_id, alice_.id);
  EXPECT_EQ(c.character_id, aria_.id);
  EXPECT_EQ(c.persona_id, 0);
  EXPECT_EQ(c.seq_reserved, 0);
  EXPECT_EQ(c.created_at, clock_.now_ms());
  ASSERT_NE(c.leaf_id, 0);
  EXPECT_EQ(c.leaf_id, c.root_active_id);
  auto page = chats().path_page(c.id, 0, 50);
  ASSERT_OK(page);
  ASSERT_EQ(page->messages.size(), 1u);
  const Message& g = page->messages[0];
  EXPECT_EQ(g.content, "Hi!");
  EXPECT_EQ(g.role, "assistant");
  EXPECT_EQ(g.status, "ok");
  EXPECT_EQ(g.parent_id, 0);
  EXPECT_EQ(g.swipe_index, 0);
  EXPECT_EQ(g.swipe_count, 3);
  EXPECT_EQ(page->next_before, 0);

  Chat empty = make_chat(alice_.id, aria_.id, {});
  EXPECT_EQ(empty.leaf_id, 0);
  auto none = chats().path_page(empty.id, 0, 50);
  ASSERT_OK(none);
  EXPECT_TRUE(none->messages.empty());
}

TEST_P(ChatStoreTest, CreateChatChecksOwnership) {
  Chat in;
  in.user_id = bob_.id;
  in.character_id = aria_.id;  // alice's
  EXPECT_ERRC(chats().create_chat(in, {"x"}), Errc::not_found);
  auto p = characters().create_persona(Persona{0, alice_.id, "Sam", "", false});
  ASSERT_OK(p);
  Character bobs = make_character(bob_.id, "B");
  in.character_id = bobs.id;
  in.persona_id = p->id;  // alice's persona
  EXPECT_ERRC(chats().create_chat(in, {"x"}), Errc::not_found);
  in.persona_id = 0;
  ASSERT_OK(chats().create_chat(in, {"x"}));
}

TEST_P(ChatStoreTest, ListAndDeleteChats) {
  Character other = make_character(alice_.id, "Other");
  std::vector<Id> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(make_chat(alice_.id, i % 2 ? other.id : aria_.id).id);
  make_chat(bob_.id, make_character(bob_.id, "B").id);

  auto all = chats().list_chats(alice_.id, 0, 0, 50);
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), 5u);
  auto page = chats().list_chats(alice_.id, 0, ids[1], 2);
  ASSERT_OK(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, ids[2]);
  EXPECT_EQ((*page)[1].id, ids[3]);
  auto of_other = chats().list_chats(alice_.id, other.id, 0, 50);
  ASSERT_OK(of_other);
  ASSERT_EQ(of_other->size(), 2u);
  EXPECT_EQ((*of_other)[0].id, ids[1]);
  EXPECT_EQ((*of_other)[1].id, ids[3]);
  auto bobs_view = chats().list_chats(bob_.id, aria_.id, 0, 50);
  ASSERT_OK(bobs_view);
  EXPECT_TRUE(bobs_view->empty());

  EXPECT_ERRC(chats().delete_chat(bob_.id, ids[0]), Errc::not_found);
  ASSERT_OK(chats().delete_chat(alice_.id, ids[0]));
  EXPECT_ERRC(chats().get_chat(alice_.id, ids[0]), Errc::not_found);
  EXPECT_ERRC(chats().delete_chat(alice_.id, ids[0]), Errc::not_found);
}

TEST_P(ChatStoreTest, BeginTurnBuildsTheTree) {
  Chat c = make_chat(alice_.id, aria_.id);
  const Id greeting = c.leaf_id;
  clock_.advance_ms(10);
  auto t = chats().begin_turn(alice_.id, c.id, "hello", "", "sim");
  ASSERT_OK(t);
  EXPECT_FALSE(t->replayed);
  EXPECT_EQ(t->user_message.role, "user");
  EXPECT_EQ(t->user_message.status, "ok");
  EXPECT_EQ(t->user_message.content, "hello");
  EXPECT_EQ(t->user_message.parent_id, greeting);
  EXPECT_EQ(t->user_message.active_child_id, t->reply.id);
  EXPECT_EQ(t->reply.role, "assistant");
  EXPECT_EQ(t->reply.status, "streaming");
  EXPECT_EQ(t->reply.parent_id, t->user_message.id);
  EXPECT_EQ(t->reply.generation_id, t->generation.id);
  EXPECT_EQ(t->generation.status, "running");
  EXPECT_EQ(t->generation.kind, "reply");
  EXPECT_EQ(t->generation.backend, "sim");
  EXPECT_EQ(t->generation.message_id, t->reply.id);
  EXPECT_EQ(t->generation.chat_id, c.id);
  EXPECT_EQ(t->generation.user_id, alice_.id);
  EXPECT_EQ(t->generation.started_at, clock_.now_ms());

  Chat after = chat(alice_.id, c.id);
  EXPECT_EQ(after.leaf_id, t->reply.id);
  EXPECT_EQ(after.updated_at, clock_.now_ms());
  auto g = chats().get_message(alice_.id, greeting);
  ASSERT_OK(g);
  EXPECT_EQ(g->active_child_id, t->user_message.id);
  EXPECT_EQ(path_ids(c.id), (std::vector<Id>{greeting, t->user_message.id, t->reply.id}));

  // One generation at a time per chat.
  EXPECT_ERRC(chats().begin_turn(alice_.id, c.id, "again", "", "sim"), Errc::conflict);
  EXPECT_ERRC(chats().begin_generation(alice_.id, c.id, "regenerate", t->reply.id, "sim"),
              Errc::conflict);

  ASSERT_OK(chats().save_partial(t->reply.id, "par"));
  auto partial = chats().get_message(alice_.id, t->reply.id);
  ASSERT_OK(partial);
  EXPECT_EQ(partial->content, "par");
  clock_.advance_ms(5);
  ASSERT_OK(chats().finish_generation(t->generation.id, "completed", "partial and more", ""));
  auto done = chats().get_message(alice_.id, t->reply.id);
  ASSERT_OK(done);
  EXPECT_EQ(done->content, "partial and more");
  EXPECT_EQ(done->status, "completed");
  auto gen = chats().get_generation(alice_.id, t->generation.id);
  ASSERT_OK(gen);
  EXPECT_EQ(gen->status, "completed");
  EXPECT_EQ(gen->finished_at, clock_.now_ms());
  EXPECT_ERRC(chats().finish_generation(t->generation.id, "failed", "", "x"), Errc::conflict);
  EXPECT_ERRC(chats().save_partial(t->reply.id, "late"), Errc::conflict);
  EXPECT_ERRC(chats().save_partial(999999, "none"), Errc::not_found);
  EXPECT_ERRC(chats().finish_generation(999999, "completed", "", ""), Errc::not_found);

  // The next turn hangs below the reply.
  auto t2 = chats().begin_turn(alice_.id, c.id, "second", "", "sim");
  ASSERT_OK(t2);
  EXPECT_EQ(t2->user_message.parent_id, t->reply.id);
}

TEST_P(ChatStoreTest, ATurnsRowsAreStoredLinkedAndTheirIdsAreNeverReused) {
  // A turn's ids are reserved before its rows are written: the stored rows must carry the links
  // (user message -> reply, generation <-> reply), and a turn after the newest rows were deleted
  // must not take their ids again.
  Chat c = make_chat(alice_.id, aria_.id);
  const Id greeting = c.leaf_id;
  auto t = chats().begin_turn(alice_.id, c.id, "one", "", "sim");
  ASSERT_OK(t);
  ASSERT_OK(chats().finish_generation(t->generation.id, "completed", "reply one", ""));
  auto user = chats().get_message(alice_.id, t->user_message.id);
  ASSERT_OK(user);
  EXPECT_EQ(user->active_child_id, t->reply.id);
  auto reply = chats().get_message(alice_.id, t->reply.id);
  ASSERT_OK(reply);
  EXPECT_EQ(reply->generation_id, t->generation.id);
  EXPECT_EQ(reply->parent_id, t->user_message.id);
  auto gen = chats().get_generation(alice_.id, t->generation.id);
  ASSERT_OK(gen);
  EXPECT_EQ(gen->message_id, t->reply.id);
  EXPECT_LT(t->user_message.id, t->reply.id);

  ASSERT_OK(chats().delete_message(alice_.id, t->user_message.id));
  EXPECT_ERRC(chats().get_generation(alice_.id, t->generation.id), Errc::not_found);
  auto t2 = chats().begin_turn(alice_.id, c.id, "two", "", "sim");
  ASSERT_OK(t2);
  EXPECT_GT(t2->user_message.id, t->reply.id);
  EXPECT_GT(t2->reply.id, t2->user_message.id);
  EXPECT_GT(t2->generation.id, t->generation.id);
  EXPECT_EQ(t2->user_message.parent_id, greeting);
  auto user2 = chats().get_message(alice_.id, t2->user_message.id);
  ASSERT_OK(user2);
  EXPECT_EQ(user2->active_child_id, t2->reply.id);
  auto gen2 = chats().get_generation(alice_.id, t2->generation.id);
  ASSERT_OK(gen2);
  EXPECT_EQ(gen2->message_id, t2->reply.id);
  EXPECT_EQ(path_ids(c.id), (std::vector<Id>{greeting, t2->user_message.id, t2->reply.id}));
}

TEST_P(ChatStoreTest, FinishRecordsFailureAndRejectsBadStatus) {
  Chat c = make_chat(alice_.id, aria_.id);
  auto t = chats().begin_turn(alice_.id, c.id, "hi", "", "openai");
  ASSERT_OK(t);
  EXPECT_ERRC(chats().finish_generation(t->generation.id, "running", "", ""), Errc::bad_request);
  EXPECT_ERRC(chats().finish_generation(t->generation.id, "bogus", "", ""), Errc::bad_request);
  ASSERT_OK(chats().finish_generation(t->generation.id, "failed", "half", "upstream 500"));
  auto g = chats().get_generation(alice_.id, t->generation.id);
  ASSERT_OK(g);
  EXPECT_EQ(g->status, "failed");
  EXPECT_EQ(g->error, "upstream 500");
  EXPECT_EQ(g->backend, "openai");
  auto m = chats().get_message(alice_.id, t->reply.id);
  ASSERT_OK(m);
  EXPECT_EQ(m->status, "failed");
  EXPECT_EQ(m->content, "half");
}

TEST_P(ChatStoreTest, CompletionFormsOfTheTurnWrites) {
  // The embedded store queues them to its writer; the default forms run the blocking call.
  EXPECT_EQ(chats().async_writes(), GetParam() == Backend::sqlite);
  Chat c = make_chat(alice_.id, aria_.id);
  std::promise<Result<Turn>> began;
  chats().begin_turn_async(alice_.id, c.id, "hello", "key-1", "sim",
                           [&](Result<Turn> t) { began.set_value(std::move(t)); });
  auto t = began.get_future().get();
  ASSERT_OK(t);
  EXPECT_EQ(t->user_message.content, "hello");
  EXPECT_EQ(t->reply.status, "streaming");
  // Durable and visible once the completion ran; the idempotency key was recorded with it.
  auto again = chats().find_turn(alice_.id, "key-1");
  ASSERT_OK(again);
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ((*again)->generation.id, t->generation.id);
  std::promise<Result<Turn>> busy;
  chats().begin_turn_async(alice_.id, c.id, "again", "", "sim",
                           [&](Result<Turn> r) { busy.set_value(std::move(r)); });
  EXPECT_ERRC(busy.get_future().get(), Errc::conflict);

  std::promise<Status> bad, finished, twice;
  chats().finish_generation_async(t->generation.id, "bogus", "", "",
                                  [&](Status s) { bad.set_value(std::move(s)); });
  EXPECT_ERRC(bad.get_future().get(), Errc::bad_request);
  chats().finish_generation_async(t->generation.id, "completed", "the reply", "",
                                  [&](Status s) { finished.set_value(std::move(s)); });
  ASSERT_OK(finished.get_future().get());
  auto m = chats().get_message(alice_.id, t->reply.id);
  ASSERT_OK(m);
  EXPECT_EQ(m->status, "completed");
  EXPECT_EQ(m->content, "the reply");
  chats().finish_generation_async(t->generation.id, "stopped", "", "",
                                  [&](Status s) { twice.set_value(std::move(s)); });
  EXPECT_ERRC(twice.get_future().get(), Errc::conflict);
}

TEST_P(ChatStoreTest, AReplyOfferedBeforeItsTurnIsWrittenIsStoredWithTheTurn) {
  // The embedded store writes the offered final state in the turn's own transaction; a store
  // without a writer leaves it to the generation (stored() stays false).
  const bool with_turn = chats().async_writes();
  Chat c = make_chat(alice_.id, aria_.id);
  auto early = std::make_shared<EarlyFinish>(c.leaf_id);
  ASSERT_TRUE(early->offer({"completed", "the whole reply", ""}));
  std::promise<Result<Turn>> began;
  chats().begin_turn_async(alice_.id, c.id, "hello", "", "sim",
                           [&](Result<Turn> t) { began.set_value(std::move(t)); }, early);
  auto t = began.get_future().get();
  ASSERT_OK(t);
  EXPECT_EQ(t->user_message.parent_id, c.leaf_id);
  EXPECT_EQ(early->stored(), with_turn);
  auto m = chats().get_message(alice_.id, t->reply.id);
  ASSERT_OK(m);
  auto g = chats().get_generation(alice_.id, t->generation.id);
  ASSERT_OK(g);
  // The turn is answered as it is first announced; its end is the generation's to announce.
  EXPECT_EQ(t->reply.status, "streaming");
  EXPECT_EQ(t->reply.content, "");
  EXPECT_EQ(t->generation.status, "running");
  if (with_turn) {
    EXPECT_EQ(m->status, "completed");
    EXPECT_EQ(m->content, "the whole reply");
    EXPECT_EQ(g->status, "completed");
    EXPECT_GT(g->finished_at, 0);
    EXPECT_EQ(g->message_id, t->reply.id);
    EXPECT_FALSE(early->offer({"stopped", "", ""}));  // taken once
  } else {
    EXPECT_EQ(m->status, "streaming");
    EXPECT_EQ(g->status, "running");
    ASSERT_OK(chats().finish_generation(t->generation.id, "completed", "the whole reply", ""));
  }

  // Offered after the write ran: refused, and the turn is stored as started.
  auto late = std::make_shared<EarlyFinish>(t->reply.id);
  std::promise<Result<Turn>> second;
  chats().begin_turn_async(alice_.id, c.id, "more", "", "sim",
                           [&](Result<Turn> r) { second.set_value(std::move(r)); }, late);
  auto t2 = second.get_future().get();
  ASSERT_OK(t2);
  EXPECT_EQ(late->offer({"completed", "too late", ""}), !with_turn);
  EXPECT_FALSE(late->stored());
  auto m2 = chats().get_message(alice_.id, t2->reply.id);
  ASSERT_OK(m2);
  EXPECT_EQ(m2->status, "streaming");
  ASSERT_OK(chats().finish_generation(t2->generation.id, "completed", "r2", ""));

  // Written under another message than the generation assumed: not stored with the turn.
  auto elsewhere = std::make_shared<EarlyFinish>(t->reply.id);  // the leaf is t2's reply now
  ASSERT_TRUE(elsewhere->offer({"completed", "for another path", ""}));
  std::promise<Result<Turn>> third;
  chats().begin_turn_async(alice_.id, c.id, "third", "", "sim",
                           [&](Result<Turn> r) { third.set_value(std::move(r)); }, elsewhere);
  auto t3 = third.get_future().get();
  ASSERT_OK(t3);
  EXPECT_EQ(t3->user_message.parent_id, t2->reply.id);
  EXPECT_FALSE(elsewhere->stored());
  auto m3 = chats().get_message(alice_.id, t3->reply.id);
  ASSERT_OK(m3);
  EXPECT_EQ(m3->status, "streaming");
  EXPECT_EQ(m3->content, "");

  // A turn that cannot be written (a generation runs) stores nothing of the offer either.
  auto refused = std::make_shared<EarlyFinish>(t3->reply.id);
  ASSERT_TRUE(refused->offer({"completed", "never", ""}));
  std::promise<Result<Turn>> fourth;
  chats().begin_turn_async(alice_.id, c.id, "busy", "", "sim",
                           [&](Result<Turn> r) { fourth.set_value(std::move(r)); }, refused);
  EXPECT_ERRC(fourth.get_future().get(), Errc::conflict);
  EXPECT_FALSE(refused->stored());
}

TEST_P(ChatStoreTest, AFailedReplyStoredWithItsTurnKeepsItsErrorAndFreesTheChat) {
  // (A store without a writer leaves the end to the generation: it is stored here as it would.)
  const bool with_turn = chats().async_writes();
  Chat c = make_chat(alice_.id, aria_.id);
  auto early = std::make_shared<EarlyFinish>(c.leaf_id);
  ASSERT_TRUE(early->offer({"failed", "half a rep", "upstream went away"}));
  std::promise<Result<Turn>> began;
  chats().begin_turn_async(alice_.id, c.id, "hello", "", "sim",
                           [&](Result<Turn> t) { began.set_value(std::move(t)); }, early);
  auto t = began.get_future().get();
  ASSERT_OK(t);
  ASSERT_EQ(early->stored(), with_turn);
  if (!with_turn) {
    ASSERT_OK(chats().finish_generation(t->generation.id, "failed", "half a rep", "upstream went away"));
  }
  auto g = chats().get_generation(alice_.id, t->generation.id);
  ASSERT_OK(g);
  EXPECT_EQ(g->status, "failed");
  EXPECT_EQ(g->error, "upstream went away");
  auto m = chats().get_message(alice_.id, t->reply.id);
  ASSERT_OK(m);
  EXPECT_EQ(m->status, "failed");
  EXPECT_EQ(m->content, "half a rep");
  EXPECT_EQ(m->generation_id, t->generation.id);
  // Nothing runs in the chat: the next turn is taken, and that generation can be finished once.
  auto next = chats().begin_turn(alice_.id, c.id, "again", "", "sim");
  ASSERT_OK(next);
  EXPECT_ERRC(chats().finish_generation(t->generation.id, "completed", "x", ""), Errc::conflict);
  ASSERT_OK(chats().finish_generation(next->generation.id, "completed", "y", ""));
}

TEST_P(ChatStoreTest, TurnInAnEmptyChatIsRootLevel) {
  Chat c = make_chat(alice_.id, aria_.id, {});
  auto t = chats().begin_turn(alice_.id, c.id, "first!", "", "sim");
  ASSERT_OK(t);
  EXPECT_EQ(t->user_message.parent_id, 0);
  Chat after = chat(alice_.id, c.id);
  EXPECT_EQ(after.root_active_id, t->user_message.id);
  EXPECT_EQ(after.leaf_id, t->reply.id);
  EXPECT_EQ(path_ids(c.id), (std::vector<Id>{t->user_message.id, t->reply.id}));
}

TEST_P(ChatStoreTest, IdempotencyKeysExpire) {
  Chat c = make_chat(alice_.id, aria_.id);
  auto t = chats().begin_turn(alice_.id, c.id, "hello", "key-x", "sim");
  ASSERT_OK(t);
  ASSERT_OK(chats().finish_generation(t->generation.id, "completed", "done", ""));
  clock_.advance_ms(kIdempotencyTtlMs - 1000);
  auto within = chats().begin_turn(alice_.id, c.id, "hello", "key-x", "sim");
  ASSERT_OK(within);
  EXPECT_TRUE(within->replayed);
  EXPECT_EQ(within->user_message.id, t->user_message.id);
  clock_.advance_ms(2000);
  auto found = chats().find_turn(alice_.id, "key-x");
  ASSERT_OK(found);
  EXPECT_FALSE(found->has_value());
  // An expired key makes a new turn, and the key then answers with that one.
  auto fresh = chats().begin_turn(alice_.id, c.id, "hello again", "key-x", "sim");
  ASSERT_OK(fresh);
  EXPECT_FALSE(fresh->replayed);
  EXPECT_NE(fresh->user_message.id, t->user_message.id);
  auto replay = chats().begin_turn(alice_.id, c.id, "hello again", "key-x", "sim");
  ASSERT_OK(replay);
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->user_message.id, fresh->user_message.id);
}

TEST_P(ChatStoreTest, IdempotentBeginTurn) {
  Chat c = make_chat(alice_.id, aria_.id);
  Chat c2 = make_chat(alice_.id, aria_.id);
  auto t = chats().begin_turn(alice_.id, c.id, "hello", "key-1", "sim");
  ASSERT_OK(t);
  EXPECT_FALSE(t->replayed);
  // Replayed even though its generation is still running, and after it finished.
  auto again = chats().begin_turn(alice_.id, c.id, "hello", "key-1", "sim");
  ASSERT_OK(again);
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->user_message.id, t->user_message.id);
  EXPECT_EQ(again->reply.id, t->reply.id);
  EXPECT_EQ(again->generation.id, t->generation.id);
  ASSERT_OK(chats().finish_generation(t->generation.id, "completed", "done", ""));
  auto third = chats().begin_turn(alice_.id, c.id, "hello", "key-1", "sim");
  ASSERT_OK(third);
  EXPECT_TRUE(third->replayed);
  EXPECT_EQ(third->reply.content, "done");
  EXPECT_EQ(third->generation.status, "completed");
  EXPECT_EQ(path_ids(c.id).size(), 3u);  // nothing new was created

  // Same key, another chat: conflict. Keys are per user.
  EXPECT_ERRC(chats().begin_turn(alice_.id, c2.id, "hello", "key-1", "sim"), Errc::conflict);
  Chat bc = make_chat(bob_.id, make_character(bob_.id, "B").id);
  auto bt = chats().begin_turn(bob_.id, bc.id, "hello", "key-1", "sim");
  ASSERT_OK(bt);
  EXPECT_FALSE(bt->replayed);

  auto found = chats().find_turn(alice_.id, "key-1");
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->user_message.id, t->user_message.id);
  EXPECT_EQ((*found)->user_message.chat_id, c.id);
  EXPECT_TRUE((*found)->replayed);
  auto missing = chats().find_turn(alice_.id, "key-2");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
  auto empty = chats().find_turn(alice_.id, "");
  ASSERT_OK(empty);
  EXPECT_FALSE(empty->has_value());
}

TEST_P(ChatStoreTest, IsolationAnswersNotFound) {
  Chat c = make_chat(alice_.id, aria_.id);
  Turn t = finished_turn(alice_.id, c.id, "secret");
  const Id b = bob_.id;
  EXPECT_ERRC(chats().get_chat(b, c.id), Errc::not_found);
  EXPECT_ERRC(chats().delete_chat(b, c.id), Errc::not_found);
  EXPECT_ERRC(chats().get_message(b, t.user_message.id), Errc::not_found);
  EXPECT_ERRC(chats().edit_message(b, t.user_message.id, "hacked"), Errc::not_found);
  EXPECT_ERRC(chats().delete_message(b, t.user_message.id), Errc::not_found);
  EXPECT_ERRC(chats().select_message(b, t.user_message.id), Errc::not_found);
  EXPECT_ERRC(chats().branch_from(b, t.user_message.id), Errc::not_found);
  EXPECT_ERRC(chats().get_generation(b, t.generation.id), Errc::not_found);
  EXPECT_ERRC(chats().begin_turn(b, c.id, "x", "", "sim"), Errc::not_found);
  EXPECT_ERRC(chats().begin_generation(b, c.id, "regenerate", t.reply.id, "sim"),
              Errc::not_found);
  EXPECT_ERRC(chats().begin_generation(b, c.id, "continue", t.reply.id, "sim"), Errc::not_found);
  auto found = chats().find_turn(b, "any");
  ASSERT_OK(found);
  EXPECT_FALSE(found->has_value());
  // A message of one chat used as the target in another chat of the same user.
  Chat c2 = make_chat(alice_.id, aria_.id);
  EXPECT_ERRC(chats().begin_generation(alice_.id, c2.id, "regenerate", t.reply.id, "sim"),
              Errc::not_found);
  EXPECT_ERRC(chats().path_page(c2.id, t.reply.id, 10), Errc::not_found);
  EXPECT_ERRC(chats().path_to(c2.id, t.reply.id, 10), Errc::not_found);
  // Everything of alice's is intact.
  auto m = chats().get_message(alice_.id, t.user_message.id);
  ASSERT_OK(m);
  EXPECT_EQ(m->content, "secret");
  EXPECT_EQ(path_ids(c.id).size(), 3u);
}

TEST_P(ChatStoreTest, UnknownIdsAreNotFound) {
  EXPECT_ERRC(chats().get_chat(alice_.id, 4242), Errc::not_found);
  EXPECT_ERRC(chats().path_page(4242, 0, 10), Errc::not_found);
  EXPECT_ERRC(chats().path_to(4242, 0, 10), Errc::not_found);
  EXPECT_ERRC(chats().reserve_seq(4242, 1), Errc::not_found);
  EXPECT_ERRC(chats().get_generation(alice_.id, 4242), Errc::not_found);
  Chat c = make_chat(alice_.id, aria_.id);
  EXPECT_ERRC(chats().begin_generation(alice_.id, c.id, "regenerate", 4242, "sim"),
              Errc::not_found);
  EXPECT_ERRC(chats().begin_generation(alice_.id, c.id, "sideways", c.leaf_id, "sim"),
              Errc::bad_request);
  EXPECT_ERRC(chats().path_to(c.id, 0, 0), Errc::bad_request);
}

TEST_P(ChatStoreTest, EditMessage) {
  Chat c = make_chat(alice_.id, aria_.id);
  Turn t = finished_turn(alice_.id, c.id, "hello");
  clock_.advance_ms(7);
  auto e = chats().edit_message(alice_.id, t.reply.id, "edited reply");
  ASSERT_OK(e);
  EXPECT_EQ(e->content, "edited reply");
  EXPECT_EQ(e->status, "ok");
  EXPECT_EQ(e->updated_at, clock_.now_ms());
  auto got = chats().get_message(alice_.id, t.reply.id);
  ASSERT_OK(got);
  EXPECT_EQ(got->content, "edited reply");
  // A message being generated cannot be edited.
  auto t2 = chats().begin_turn(alice_.id, c.id, "more", "", "sim");
  ASSERT_OK(t2);
  EXPECT_ERRC(chats().edit_message(alice_.id, t2->reply.id, "x"), Errc::conflict);
  ASSERT_OK(chats().edit_message(alice_.id, t2->user_message.id, "more!"));
}

TEST_P(ChatStoreTest, InterruptRunning) {
  Chat c1 = make_chat(alice_.id, aria_.id);
  Chat c2 = make_chat(alice_.id, aria_.id);
  Chat c3 = make_chat(alice_.id, aria_.id);
  auto t1 = chats().begin_turn(alice_.id, c1.id, "a", "", "sim");
  auto t2 = chats().begin_turn(alice_.id, c2.id, "b", "", "sim");
  ASSERT_OK(t1);
  ASSERT_OK(t2);
  finished_turn(alice_.id, c3.id, "c");
  ASSERT_OK(chats().save_partial(t1->reply.id, "partial text"));
  reopen();  // as after a crash
  auto n = chats().interrupt_running();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 2);
  auto g1 = chats().get_generation(alice_.id, t1->generation.id);
  ASSERT_OK(g1);
  EXPECT_EQ(g1->status, "interrupted");
  EXPECT_EQ(g1->finished_at, clock_.now_ms());
  auto m1 = chats().get_message(alice_.id, t1->reply.id);
  ASSERT_OK(m1);
  EXPECT_EQ(m1->status, "interrupted");
  EXPECT_EQ(m1->content, "partial text");
  auto again = chats().interrupt_running();
  ASSERT_OK(again);
  EXPECT_EQ(*again, 0);
  // The chat accepts new turns again.
  ASSERT_OK(chats().begin_turn(alice_.id, c1.id, "next", "", "sim"));
}

TEST_P(ChatStoreTest, ReserveSeqIsMonotonicAcrossReopen) {
  Chat c = make_chat(alice_.id, aria_.id);
  auto a = chats().reserve_seq(c.id, 100);
  ASSERT_OK(a);
  EXPECT_EQ(*a, 100);
  auto b = chats().reserve_seq(c.id, 1);
  ASSERT_OK(b);
  EXPECT_EQ(*b, 101);
  reopen();
  auto d = chats().reserve_seq(c.id, 1 << 20);
  ASSERT_OK(d);
  EXPECT_EQ(*d, 101 + (1 << 20));
  auto z = chats().reserve_seq(c.id, 0);
  ASSERT_OK(z);
  EXPECT_EQ(*z, *d);
  EXPECT_EQ(chat(alice_.id, c.id).seq_reserved, *d);
  EXPECT_ERRC(chats().reserve_seq(c.id, -1), Errc::bad_request);
}

TEST_P(ChatStoreTest, ACreatedChatKeepsTheSeqBlockReservedWithIt) {
  Chat in;
  in.user_id = alice_.id;
  in.character_id = aria_.id;
  in.title = "reserved";
  in.seq_reserved = 4096;
  auto made = chats().create_chat(in, {"Hi!"});
  ASSERT_OK(made);
  EXPECT_EQ(made->seq_reserved, 4096);
  reopen();
  EXPECT_EQ(chat(alice_.id, made->id).seq_reserved, 4096);
  // Later reservations continue above it.
  auto next = chats().reserve_seq(made->id, 10);
  ASSERT_OK(next);
  EXPECT_EQ(*next, 4106);
  // A negative mark is stored as none.
  in.seq_reserved = -5;
  auto none = chats().create_chat(in, {});
  ASSERT_OK(none);
  EXPECT_EQ(none->seq_reserved, 0);
}

TEST_P(ChatStoreTest, ABranchKeepsTheSeqBlockReservedWithIt) {
  Chat src = make_chat(alice_.id, aria_.id, {"Hi!"}, "source");
  ASSERT_OK(chats().reserve_seq(src.id, 50));
  auto b = chats().branch_from(alice_.id, src.leaf_id, 4096);
  ASSERT_OK(b);
  EXPECT_EQ(b->seq_reserved, 4096);  // its own mark, not the source chat's
  reopen();
  EXPECT_EQ(chat(alice_.id, b->id).seq_reserved, 4096);
  EXPECT_EQ(chat(alice_.id, src.id).seq_reserved, 50);
  auto next = chats().reserve_seq(b->id, 10);
  ASSERT_OK(next);
  EXPECT_EQ(*next, 4106);
  // Without a block (or a negative one) the branch starts with none.
  auto plain = chats().branch_from(alice_.id, src.leaf_id);
  ASSERT_OK(plain);
  EXPECT_EQ(plain->seq_reserved, 0);
  auto negative = chats().branch_from(alice_.id, src.leaf_id, -3);
  ASSERT_OK(negative);
  EXPECT_EQ(negative->seq_reserved, 0);
}

TEST_P(ChatStoreTest, DataSurvivesReopen) {
  Chat c = make_chat(alice_.id, aria_.id, {"greet"}, "durable");
  Turn t = finished_turn(alice_.id, c.id, "remember me");
  auto pending = chats().begin_turn(alice_.id, c.id, "pending", "k", "sim");
  ASSERT_OK(pending);
  std::vector<Id> before = path_ids(c.id);
  reopen();
  Chat again = chat(alice_.id, c.id);
  EXPECT_EQ(again.title, "durable");
  EXPECT_EQ(again.leaf_id, pending->reply.id);
  EXPECT_EQ(path_ids(c.id), before);
  auto m = chats().get_message(alice_.id, t.reply.id);
  ASSERT_OK(m);
  EXPECT_EQ(m->content, "re: remember me");
  auto replay = chats().begin_turn(alice_.id, c.id, "pending", "k", "sim");
  ASSERT_OK(replay);
  EXPECT_TRUE(replay->replayed);
  auto u = users().user_by_name("alice");
  ASSERT_OK(u);
  auto ch = characters().get_character(alice_.id, aria_.id);
  ASSERT_OK(ch);
}

}  // namespace troupe::store::sqlite::testing

namespace troupe::store::sqlite::testing {

TEST_P(ChatStoreTest, SiblingsListSwipesInOrderWithTheSelectedOne) {
  Chat c = make_chat(alice_.id, aria_.id, {"Hi!", "Hello!", "Yo!"}, "greetings");
  auto first = chats().siblings(alice_.id, c.root_active_id);
  ASSERT_OK(first);
  ASSERT_EQ(first->ids.size(), 3u);
  EXPECT_EQ(first->count, 3);
  EXPECT_EQ(first->parent_id, 0);
  EXPECT_EQ(first->ids[0], c.root_active_id);
  EXPECT_LT(first->ids[0], first->ids[1]);
  EXPECT_LT(first->ids[1], first->ids[2]);
  EXPECT_EQ(first->selected_id, c.root_active_id);

  ASSERT_OK(chats().select_message(alice_.id, first->ids[2]));
  auto after = chats().siblings(alice_.id, first->ids[1]);
  ASSERT_OK(after);
  EXPECT_EQ(after->ids, first->ids);
  EXPECT_EQ(after->selected_id, first->ids[2]);

  // Below a user message: the reply and its regenerated swipe.
  auto t = chats().begin_turn(alice_.id, c.id, "hello", "", "sim");
  ASSERT_OK(t);
  ASSERT_OK(chats().finish_generation(t->generation.id, "completed", "one", ""));
  auto g = chats().begin_generation(alice_.id, c.id, "regenerate", t->reply.id, "sim");
  ASSERT_OK(g);
  auto replies = chats().siblings(alice_.id, t->reply.id);
  ASSERT_OK(replies);
  EXPECT_EQ(replies->parent_id, t->user_message.id);
  EXPECT_EQ(replies->ids, (std::vector<Id>{t->reply.id, g->reply.id}));
  EXPECT_EQ(replies->count, 2);
  EXPECT_EQ(replies->selected_id, g->reply.id);
  auto lone = chats().siblings(alice_.id, t->user_message.id);
  ASSERT_OK(lone);
  EXPECT_EQ(lone->ids, std::vector<Id>{t->user_message.id});
  EXPECT_EQ(lone->selected_id, t->user_message.id);

  EXPECT_ERRC(chats().siblings(bob_.id, t->reply.id), Errc::not_found);
  EXPECT_ERRC(chats().siblings(alice_.id, 99999999), Errc::not_found);
}

}  // namespace troupe::store::sqlite::testing
