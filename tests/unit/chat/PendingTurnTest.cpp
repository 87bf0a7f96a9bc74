// A reply turn whose generation starts before the turn is stored (PendingTurn): nothing is seen
// before the turn is durable, a quick reply is stored with its turn, a turn that is not stored
// leaves no trace, and a turn written on another path than the prompt assumed streams again.
#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <future>

#include "ChatTestUtil.h"
#include "store/sqlite/Connection.h"

namespace troupe::chat::testing {
namespace {

class PendingTurnTest : public ChatFixture {
 protected:
  // Holds the store's writer inside a write until release_writer(): writes queued meanwhile
  // wait for it (and then share the next group).
  void block_writer() {
    blocked_ = true;
    auto held = writer_gate_.get_future().share();
    store_->db().write_async([held](store::sqlite::Connection&) -> Status {
      held.wait();
      return Status{};
    }, [this](Status s) { blocker_done_.set_value(std::move(s)); });
  }
  void release_writer() {
    released_ = true;
    writer_gate_.set_value();
    EXPECT_TRUE(blocker_done_.get_future().get().ok());
  }
  void TearDown() override {
    if (blocked_ && !released_) writer_gate_.set_value();  // a failed test must not hang the store
    ChatFixture::TearDown();
  }
  // Starts post_message without waiting for it; `out` is set when it returns.
  void post(store::Id chat_id, std::string content,
            std::shared_ptr<std::optional<Result<store::Turn>>> out) {
    asio::co_spawn(
        io_,
        [](TurnService* t, store::User u, store::Id chat, std::string text,
           std::shared_ptr<std::optional<Result<store::Turn>>> dst) -> asio::awaitable<void> {
          dst->emplace(co_await t->post_message(u, chat, std::move(text), ""));
        }(turns_.get(), alice_, chat_id, std::move(content), out),
        asio::detached);
  }

  bool blocked_ = false, released_ = false;
  // A chat with one finished turn whose reply then got a new swipe, made in the store alone: the
  // chat's leaf moved, its history cache still ends at the first reply. Subscribed after it.
  struct Moved {
    store::Id chat_id = 0;
    store::Turn swipe;
    std::shared_ptr<sync::Subscription> sub;
  };
  Moved move_behind_the_cache() {
    Moved m;
    llm_.set_script(Script{{"first"}});
    m.chat_id = new_chat(alice_, aria_.id).chat.id;
    auto one = await(turns_->post_message(alice_, m.chat_id, "one", ""));
    EXPECT_TRUE(one.ok() && wait_idle(m.chat_id));
    if (!one.ok()) return m;
    auto swipe = store_->chats().begin_generation(alice_.id, m.chat_id, "regenerate",
                                                  one->reply.id, "fake");
    EXPECT_TRUE(swipe.ok());
    if (!swipe.ok()) return m;
    EXPECT_TRUE(store_->chats().finish_generation(swipe->generation.id, "completed", "the swipe", "").ok());
    m.swipe = *swipe;
    m.sub = subscribe(alice_, m.chat_id, bus_->last_seq(m.chat_id));
    return m;
  }

  std::promise<void> writer_gate_;
  std::promise<Status> blocker_done_;
};

TEST_F(PendingTurnTest, AQuickReplyIsHeldUntilItsTurnIsDurableAndStoredWithIt) {
  llm_.set_script(Script{{"Hel", "lo", "!"}});
  auto chat = new_chat(alice_, aria_.id);
  auto sub = subscribe(alice_, chat.chat.id, 0);
  ASSERT_TRUE(sub);
  const auto before = gm_->pending_stats();

  block_writer();
  auto out = std::make_shared<std::optional<Result<store::Turn>>>();
  post(chat.chat.id, "Hi", out);
  // The generation runs and ends while its turn waits for the writer: no answer, no event.
  ASSERT_TRUE(run_until([&] { return llm_.calls() == 1; }));
  settle();
  EXPECT_FALSE(out->has_value());
  EXPECT_TRUE(drain(*sub).empty());
  EXPECT_EQ(gm_->pending_stats().started, before.started + 1);

  release_writer();
  ASSERT_TRUE(run_until([&] { return out->has_value(); }));
  ASSERT_OK(**out);
  const store::Turn& turn = ***out;
  // The reply was committed with the turn, before the request was answered.
  EXPECT_EQ(message(turn.reply.id).status, "completed");
  EXPECT_EQ(message(turn.reply.id).content, "Hello!");
  EXPECT_EQ(generation(turn.generation.id).status, "completed");

  auto evs = collect_until(*sub, "generation.finished");
  EXPECT_EQ(types(evs), (std::vector<std::string>{"message.created", "message.created",
                                                  "generation.started", "token", "token", "token",
                                                  "generation.finished"}));
  for (std::size_t i = 0; i < evs.size(); ++i) EXPECT_EQ(evs[i].seq, static_cast<std::int64_t>(i + 1));
  EXPECT_EQ(evs[0].body.at("message").at("id").as_int64(), turn.user_message.id);
  EXPECT_EQ(evs[1].body.at("message").at("id").as_int64(), turn.reply.id);
  EXPECT_EQ(evs[2].body.at("generation").at("id").as_int64(), turn.generation.id);
  for (std::size_t i = 3; i < 6; ++i) {
    EXPECT_EQ(evs[i].body.at("generation_id").as_int64(), turn.generation.id);
    EXPECT_EQ(evs[i].body.at("message_id").as_int64(), turn.reply.id);
  }
  EXPECT_EQ(evs.back().body.at("message").at("content").as_string(), "Hello!");
  EXPECT_EQ(gm_->pending_stats().stored_with_turn, before.stored_with_turn + 1);
  ASSERT_TRUE(wait_idle(chat.chat.id));

  // The next turn's prompt holds the stored messages (the history cache kept the ids).
  ASSERT_OK(await(turns_->post_message(alice_, chat.chat.id, "Again", "")));
  ASSERT_TRUE(wait_idle(chat.chat.id));
  auto reqs = llm_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  ASSERT_EQ(reqs[1].messages.size(), 5u);
  EXPECT_EQ(reqs[1].messages[2].content, "Hi");
  EXPECT_EQ(reqs[1].messages[3].content, "Hello!");
  EXPECT_EQ(reqs[1].messages[4].content, "Again");
  auto p = path(chat.chat.id);
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[2].id, turn.reply.id);
  EXPECT_EQ(p[3].parent_id, turn.reply.id);
}

TEST_F(PendingTurnTest, ATurnThatIsNotStoredLeavesNoEventAndFreesTheChat) {
  llm_.set_script(Script{{"never", " seen"}});
  auto chat = new_chat(alice_, aria_.id);
  auto sub = subscribe(alice_, chat.chat.id, 0);
  ASSERT_TRUE(sub);
  const auto before = gm_->pending_stats();
  // Deleted behind the services' backs: their caches still know the chat, the store does not.
  ASSERT_OK(store_->chats().delete_chat(alice_.id, chat.chat.id));

  auto r = await(turns_->post_message(alice_, chat.chat.id, "Hi", ""));
  EXPECT_ERRC(r, Errc::not_found);
  EXPECT_EQ(gm_->pending_stats().started, before.started + 1);
  ASSERT_TRUE(run_until([&] { return gm_->running_count() == 0; }));
  settle();
  EXPECT_TRUE(drain(*sub).empty());
  EXPECT_EQ(gm_->pending_stats().stored_with_turn, before.stored_with_turn);
}

TEST_F(PendingTurnTest, ATurnWrittenOnAnotherPathStreamsAgainFromTheStore) {
  auto [chat_id, swipe, sub] = move_behind_the_cache();
  ASSERT_TRUE(sub);

  llm_.set_script(Script{{"A", "B"}});
  block_writer();
  auto out = std::make_shared<std::optional<Result<store::Turn>>>();
  post(chat_id, "two", out);
  ASSERT_TRUE(run_until([&] { return llm_.calls() == 2; }));
  settle();
  release_writer();
  ASSERT_TRUE(run_until([&] { return out->has_value(); }));
  ASSERT_OK(**out);
  const store::Turn& turn = ***out;
  EXPECT_EQ(turn.user_message.parent_id, swipe.reply.id);

  auto evs = collect_until(*sub, "generation.finished");
  // Only the second stream's tokens are seen.
  EXPECT_EQ(types(evs), (std::vector<std::string>{"message.created", "message.created",
                                                  "generation.started", "token", "token",
                                                  "generation.finished"}));
  EXPECT_EQ(evs.back().body.at("message").at("content").as_string(), "AB");
  ASSERT_TRUE(wait_idle(chat_id));
  EXPECT_EQ(message(turn.reply.id).content, "AB");
  EXPECT_EQ(message(turn.reply.id).status, "completed");
  auto reqs = llm_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  // The first try was built on the cached path, the second on the stored one.
  EXPECT_EQ(reqs[1].messages[3].content, "first");
  EXPECT_EQ(reqs[2].messages[3].content, "the swipe");
  EXPECT_EQ(reqs[2].messages[4].content, "two");
}

TEST_F(PendingTurnTest, AStreamForAnotherPathEndsAtItsNextToken) {
  auto [chat_id, swipe, sub] = move_behind_the_cache();
  ASSERT_TRUE(sub);

  // The first stream (built on the cached path) holds after one token, like a slow model.
  llm_.set_script(Script{{"x", "y", "z"}, std::chrono::milliseconds(0), 1});
  auto turn = await(turns_->post_message(alice_, chat_id, "two", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));
  auto started = collect_until(*sub, "generation.started");
  EXPECT_EQ(types(started), (std::vector<std::string>{"message.created", "message.created",
                                                      "generation.started"}));
  EXPECT_EQ(llm_.cancelled(), 0);
  llm_.release();  // its next token finds the text unwanted: it ends, the second stream runs
  auto evs = collect_until(*sub, "generation.finished");
  EXPECT_EQ(types(evs), (std::vector<std::string>{"token", "token", "token", "generation.finished"}));
  EXPECT_EQ(evs.back().body.at("message").at("content").as_string(), "xyz");
  ASSERT_TRUE(wait_idle(chat_id));
  EXPECT_EQ(llm_.cancelled(), 1);
  EXPECT_EQ(llm_.calls(), 3);
  EXPECT_EQ(message(turn->reply.id).content, "xyz");
  EXPECT_EQ(message(turn->reply.id).parent_id, turn->user_message.id);
  EXPECT_EQ(turn->user_message.parent_id, swipe.reply.id);
}

TEST_F(PendingTurnTest, AReplyThatNeverWaitsIsStoredWithItsTurnEveryTime) {
  // The backend streams without a single wait: the turn's write is queued only after the reply
  // ended, so its one commit holds the finished reply, whatever the writer was doing.
  llm_.set_script(Script{{"Quick", " one"}});
  auto chat = new_chat(alice_, aria_.id);
  const auto before = gm_->pending_stats();
  for (int i = 0; i < 5; ++i) {
    auto turn = await(turns_->post_message(alice_, chat.chat.id, "Hi " + std::to_string(i), ""));
    ASSERT_OK(turn);
    // Already final when the request is answered: no second write was needed.
    EXPECT_EQ(message(turn->reply.id).status, "completed");
    EXPECT_EQ(message(turn->reply.id).content, "Quick one");
    EXPECT_EQ(generation(turn->generation.id).status, "completed");
    ASSERT_TRUE(wait_idle(chat.chat.id));
  }
  EXPECT_EQ(gm_->pending_stats().started, before.started + 5);
  EXPECT_EQ(gm_->pending_stats().stored_with_turn, before.stored_with_turn + 5);
}

TEST_F(PendingTurnTest, ABackendThatWaitsDoesNotHoldItsTurnBack) {
  // The backend waits before its first token (like a model's time to first token): the turn is
  // stored and answered meanwhile, its reply still streaming.
  llm_.set_script(Script{{"late"}, std::chrono::milliseconds(0), 0});
  auto chat = new_chat(alice_, aria_.id);
  auto sub = subscribe(alice_, chat.chat.id, 0);
  ASSERT_TRUE(sub);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "Hi", ""));
  ASSERT_OK(turn);
  EXPECT_EQ(llm_.holding(), 1);
  EXPECT_EQ(message(turn->reply.id).status, "streaming");
  auto started = collect_until(*sub, "generation.started");
  EXPECT_EQ(types(started), (std::vector<std::string>{"message.created", "message.created",
                                                      "generation.started"}));
  llm_.release();
  auto evs = collect_until(*sub, "generation.finished");
  EXPECT_EQ(types(evs), (std::vector<std::string>{"token", "generation.finished"}));
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_EQ(message(turn->reply.id).content, "late");
  EXPECT_EQ(message(turn->reply.id).status, "completed");
}

TEST_F(PendingTurnTest, TheWriteGoesOnceAtItsReleaseOrWhenItsLastHolderIsGone) {
  auto chat = new_chat(alice_, aria_.id);
  int calls = 0;
  auto count = [&calls](std::shared_ptr<PendingTurn>) { ++calls; };

  // Held, then released by dropping the last copy of its WriteRelease.
  auto a = std::make_shared<PendingTurn>(deps(), chat.chat.id, 0, io_.get_executor(), nullptr);
  {
    PendingTurn::WriteRelease r(a);
    {
      PendingTurn::WriteRelease copy = r;
      a->hold_write(count);
    }
    EXPECT_EQ(calls, 0);  // one copy still holds it
  }
  EXPECT_EQ(calls, 1);
  a->release_write();
  EXPECT_EQ(calls, 1);

  // Released before it was held: it goes at once when held, and only then.
  auto b = std::make_shared<PendingTurn>(deps(), chat.chat.id, 0, io_.get_executor(), nullptr);
  b->release_write();
  EXPECT_EQ(calls, 1);
  b->hold_write(count);
  EXPECT_EQ(calls, 2);
  { PendingTurn::WriteRelease late(b); }
  b->release_write();
  EXPECT_EQ(calls, 2);
}

class NoEarlyStartTest : public ChatFixture {
 protected:
  void configure(Config& c) override { c.generation.early_start = false; }
};

TEST_F(NoEarlyStartTest, TheTurnIsStoredBeforeItsGenerationStarts) {
  llm_.set_script(Script{{"Hel", "lo"}});
  auto chat = new_chat(alice_, aria_.id);
  auto sub = subscribe(alice_, chat.chat.id, 0);
  ASSERT_TRUE(sub);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "Hi", ""));
  ASSERT_OK(turn);
  auto evs = collect_until(*sub, "generation.finished");
  EXPECT_EQ(types(evs), (std::vector<std::string>{"message.created", "message.created",
                                                  "generation.started", "token", "token",
                                                  "generation.finished"}));
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_EQ(message(turn->reply.id).content, "Hello");
  EXPECT_EQ(gm_->pending_stats().started, 0u);
  EXPECT_EQ(gm_->pending_stats().stored_with_turn, 0u);
  EXPECT_EQ(gm_->history_cache().stats().hits, 1u);  // the cached history is still used
}

}  // namespace
}  // namespace troupe::chat::testing
