#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>

#include "ChatTestUtil.h"

namespace troupe::chat::testing {
namespace {

using std::chrono::milliseconds;

class TurnServiceTest : public ChatFixture {};

TEST_F(TurnServiceTest, PostMessageStreamsEventsInSeqOrderAndStoresTheReply) {
  llm_.set_script(Script{{"Hel", "lo", ", Sam", "!"}});
  auto chat = new_chat(alice_, aria_.id);
  auto sub = subscribe(alice_, chat.chat.id, 0);
  ASSERT_TRUE(sub);

  auto turn = await(turns_->post_message(alice_, chat.chat.id, "Hi there", ""));
  ASSERT_OK(turn);
  EXPECT_FALSE(turn->replayed);
  EXPECT_EQ(turn->user_message.role, "user");
  EXPECT_EQ(turn->user_message.content, "Hi there");
  EXPECT_EQ(turn->reply.role, "assistant");
  EXPECT_EQ(turn->reply.status, "streaming");
  EXPECT_EQ(turn->reply.parent_id, turn->user_message.id);
  EXPECT_EQ(turn->generation.status, "running");
  EXPECT_EQ(turn->generation.kind, "reply");
  EXPECT_EQ(turn->generation.backend, "fake");
  EXPECT_EQ(turn->generation.message_id, turn->reply.id);

  auto evs = collect_until(*sub, "generation.finished");
  EXPECT_EQ(types(evs), (std::vector<std::string>{"message.created", "message.created",
                                                  "generation.started", "token", "token", "token",
                                                  "token", "generation.finished"}));
  for (std::size_t i = 0; i < evs.size(); ++i) {
    EXPECT_EQ(evs[i].seq, static_cast<std::int64_t>(i + 1)) << "event " << i;
    EXPECT_EQ(evs[i].body.at("seq").as_int64(), evs[i].seq);
    EXPECT_EQ(evs[i].body.at("chat_id").as_int64(), chat.chat.id);
    EXPECT_EQ(evs[i].body.at("type").as_string(), evs[i].type);
  }
  EXPECT_EQ(evs[0].body.at("message").at("id").as_int64(), turn->user_message.id);
  EXPECT_EQ(evs[1].body.at("message").at("id").as_int64(), turn->reply.id);
  EXPECT_EQ(evs[2].body.at("generation").at("id").as_int64(), turn->generation.id);
  std::string streamed;
  for (std::size_t i = 3; i < 7; ++i) {
    EXPECT_EQ(evs[i].body.at("generation_id").as_int64(), turn->generation.id);
    EXPECT_EQ(evs[i].body.at("message_id").as_int64(), turn->reply.id);
    streamed += evs[i].body.at("text").as_string();
  }
  EXPECT_EQ(streamed, "Hello, Sam!");
  const auto& fin = evs.back().body;
  EXPECT_EQ(fin.at("generation").at("status").as_string(), "completed");
  EXPECT_EQ(fin.at("message").at("content").as_string(), "Hello, Sam!");
  EXPECT_EQ(fin.at("message").at("status").as_string(), "completed");

  ASSERT_TRUE(wait_idle(chat.chat.id));
  auto reply = message(turn->reply.id);
  EXPECT_EQ(reply.content, "Hello, Sam!");
  EXPECT_EQ(reply.status, "completed");
  auto gen = generation(turn->generation.id);
  EXPECT_EQ(gen.status, "completed");
  EXPECT_TRUE(gen.error.empty());
  EXPECT_GT(gen.finished_at, 0);
  EXPECT_EQ(bus_->last_seq(chat.chat.id), 8);
}

TEST_F(TurnServiceTest, BackendGetsThePromptForTheTurn) {
  auto chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "How is the light?", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(wait_idle(chat.chat.id));
  auto reqs = llm_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& r = reqs[0];
  EXPECT_EQ(r.char_name, "Aria");
  EXPECT_EQ(r.user_name, "alice");  // no persona: the account name
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_NE(r.messages[0].content.find("Aria keeps the lighthouse."), std::string::npos);
  EXPECT_EQ(r.messages[1].role, "assistant");
  EXPECT_EQ(r.messages[1].content, "Welcome, alice.");  // the greeting, macros expanded
  EXPECT_EQ(r.messages[2].role, "user");
  EXPECT_EQ(r.messages[2].content, "How is the light?");
  EXPECT_TRUE(r.continue_from.empty());
  EXPECT_EQ(r.max_tokens, config_.llm.max_tokens);
}

TEST_F(TurnServiceTest, PersonaNameIsTheUserName) {
  store::Persona p;
  p.user_id = alice_.id;
  p.name = "Captain Sam";
  p.description = "An old sailor.";
  p.is_default = true;
  ASSERT_OK(store_->characters().create_persona(p));
  auto chat = new_chat(alice_, aria_.id);
  ASSERT_OK(await(turns_->post_message(alice_, chat.chat.id, "Ahoy", "")));
  ASSERT_TRUE(wait_idle(chat.chat.id));
  auto reqs = llm_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].user_name, "Captain Sam");
  EXPECT_NE(reqs[0].messages[0].content.find("About Captain Sam: An old sailor."), std::string::npos);
  EXPECT_EQ(reqs[0].messages[1].content, "Welcome, Captain Sam.");
}

TEST_F(TurnServiceTest, ConflictWhileAGenerationRuns) {
  llm_.set_script(Script{{"a", "b", "c"}, milliseconds(0), 1});
  auto chat = new_chat(alice_, aria_.id);
  auto first = await(turns_->post_message(alice_, chat.chat.id, "one", ""));
  ASSERT_OK(first);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));
  EXPECT_EQ(gm_->running(chat.chat.id), first->generation.id);

  EXPECT_ERRC(await(turns_->post_message(alice_, chat.chat.id, "two", "")), Errc::conflict);
  EXPECT_ERRC(await(turns_->start_generation(alice_, chat.chat.id, "regenerate", 0)),
              Errc::conflict);
  EXPECT_ERRC(await(turns_->start_generation(alice_, chat.chat.id, "continue", 0)),
              Errc::conflict);
  EXPECT_EQ(llm_.calls(), 1);
  // Other chats are not blocked.
  auto other = new_chat(alice_, aria_.id);
  ASSERT_OK(await(turns_->post_message(alice_, other.chat.id, "elsewhere", "")));
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 2; }));
  EXPECT_EQ(gm_->running_count(), 2u);

  llm_.release();
  ASSERT_TRUE(wait_idle(chat.chat.id));
  ASSERT_TRUE(wait_idle(other.chat.id));
  ASSERT_OK(await(turns_->post_message(alice_, chat.chat.id, "two", "")));
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_EQ(llm_.calls(), 3);
}

TEST_F(TurnServiceTest, IdempotencyKeyReplaysTheTurnWhileItRuns) {
  llm_.set_script(Script{{"x", "y"}, milliseconds(0), 1});
  auto chat = new_chat(alice_, aria_.id);
  auto sub = subscribe(alice_, chat.chat.id, 0);
  auto first = await(turns_->post_message(alice_, chat.chat.id, "hello", "key-1"));
  ASSERT_OK(first);
  EXPECT_FALSE(first->replayed);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));

  auto again = await(turns_->post_message(alice_, chat.chat.id, "hello", "key-1"));
  ASSERT_OK(again);
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->user_message.id, first->user_message.id);
  EXPECT_EQ(again->reply.id, first->reply.id);
  EXPECT_EQ(again->generation.id, first->generation.id);
  EXPECT_EQ(again->generation.status, "running");
  EXPECT_EQ(llm_.calls(), 1);

  llm_.release();
  auto evs = collect_until(*sub, "generation.finished");
  // One turn's worth of events only.
  EXPECT_EQ(types(evs), (std::vector<std::string>{"message.created", "message.created",
                                                  "generation.started", "token", "token",
                                                  "generation.finished"}));
  ASSERT_TRUE(wait_idle(chat.chat.id));

  auto after = await(turns_->post_message(alice_, chat.chat.id, "hello", "key-1"));
  ASSERT_OK(after);
  EXPECT_TRUE(after->replayed);
  EXPECT_EQ(after->user_message.id, first->user_message.id);
  EXPECT_EQ(after->generation.status, "completed");
  EXPECT_EQ(after->reply.content, "xy");
  EXPECT_EQ(llm_.calls(), 1);
  EXPECT_TRUE(drain(*sub).empty());
  // Only one user message was stored.
  auto p = path(chat.chat.id);
  ASSERT_EQ(p.size(), 3u);  // greeting, user, reply

  // The same key for another chat is a conflict; another key is a new turn.
  auto other = new_chat(alice_, aria_.id);
  EXPECT_ERRC(await(turns_->post_message(alice_, other.chat.id, "hello", "key-1")), Errc::conflict);
  auto fresh = await(turns_->post_message(alice_, chat.chat.id, "hello", "key-2"));
  ASSERT_OK(fresh);
  EXPECT_FALSE(fresh->replayed);
  EXPECT_NE(fresh->user_message.id, first->user_message.id);
  ASSERT_TRUE(wait_idle(chat.chat.id));
}

TEST_F(TurnServiceTest, ConcurrentRequestsWithOneKeyCreateOneTurn) {
  auto chat = new_chat(alice_, aria_.id);
  auto other = new_chat(alice_, aria_.id);
  for (int round = 0; round < 5; ++round) {
    const std::string key = "race-" + std::to_string(round);
    const auto before = path(chat.chat.id).size() + path(other.chat.id).size();
    std::vector<std::optional<Result<store::Turn>>> out(3);
    auto post = [&](std::size_t i, store::Id chat_id) {
      // Parameters (not captures) live in the coroutine frame.
      auto run = [](TurnService* ts, store::User u, store::Id id, std::string k,
                    std::optional<Result<store::Turn>>* dst) -> asio::awaitable<void> {
        dst->emplace(co_await ts->post_message(u, id, "hello", std::move(k)));
      };
      asio::co_spawn(io_, run(turns_.get(), alice_, chat_id, key, &out[i]), asio::detached);
    };
    // All three start before any of them reaches the store.
    post(0, chat.chat.id);
    post(1, chat.chat.id);
    post(2, other.chat.id);
    ASSERT_TRUE(run_until([&] { return out[0] && out[1] && out[2]; }));
    int created = 0;
    store::Id user_message = 0, won = 0;
    for (auto& r : out) {
      if (r->ok()) {
        if (!(*r)->replayed) ++created;
        if (user_message) {
          EXPECT_EQ((*r)->user_message.id, user_message) << "one turn only";
        }
        user_message = (*r)->user_message.id;
        won = (*r)->user_message.chat_id;
      } else {
        EXPECT_EQ(r->error().code, Errc::conflict) << r->error().message;
      }
    }
    EXPECT_EQ(created, 1);
    ASSERT_NE(won, 0);
    ASSERT_TRUE(wait_idle(won));
    // One user message and one reply in the chat that won, nothing in the other.
    EXPECT_EQ(path(chat.chat.id).size() + path(other.chat.id).size(), before + 2);
    // Once durable, the key replays.
    auto again = await(turns_->post_message(alice_, won, "hello", key));
    ASSERT_OK(again);
    EXPECT_TRUE(again->replayed);
    EXPECT_EQ(again->user_message.id, user_message);
  }
}

TEST_F(TurnServiceTest, IdempotencyKeysAreScopedPerUser) {
  auto a = new_chat(alice_, aria_.id);
  auto bob_char = make_character(bob_.id, "Bram");
  auto b = new_chat(bob_, bob_char.id);
  auto ta = await(turns_->post_message(alice_, a.chat.id, "hi", "shared"));
  ASSERT_OK(ta);
  ASSERT_TRUE(wait_idle(a.chat.id));
  auto tb = await(turns_->post_message(bob_, b.chat.id, "hi", "shared"));
  ASSERT_OK(tb);
  EXPECT_FALSE(tb->replayed);
  ASSERT_TRUE(wait_idle(b.chat.id));
}

TEST_F(TurnServiceTest, StopKeepsThePartialText) {
  llm_.set_script(Script{{"Once", " upon", " a", " time"}, milliseconds(0), 2});
  auto chat = new_chat(alice_, aria_.id);
  auto sub = subscribe(alice_, chat.chat.id, 0);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "Tell me a story", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));

  auto stopped = await(turns_->stop(alice_, turn->generation.id));
  ASSERT_OK(stopped);
  EXPECT_EQ(stopped->id, turn->generation.id);
  auto evs = collect_until(*sub, "generation.finished");
  const auto& fin = evs.back().body;
  EXPECT_EQ(fin.at("generation").at("status").as_string(), "stopped");
  EXPECT_EQ(fin.at("message").at("content").as_string(), "Once upon");
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_EQ(llm_.cancelled(), 1);

  auto reply = message(turn->reply.id);
  EXPECT_EQ(reply.status, "stopped");
  EXPECT_EQ(reply.content, "Once upon");
  auto gen = generation(turn->generation.id);
  EXPECT_EQ(gen.status, "stopped");
  EXPECT_TRUE(gen.error.empty());

  // Stopping again is harmless and reports the final state.
  auto again = await(turns_->stop(alice_, turn->generation.id));
  ASSERT_OK(again);
  EXPECT_EQ(again->status, "stopped");
  // The chat is free again.
  ASSERT_OK(await(turns_->post_message(alice_, chat.chat.id, "Another", "")));
  llm_.release();
  ASSERT_TRUE(wait_idle(chat.chat.id));
}

TEST_F(TurnServiceTest, StopOfAnotherUsersGenerationIsNotFound) {
  llm_.set_script(Script{{"a"}, milliseconds(0), 0});
  auto chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "hi", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));
  EXPECT_ERRC(await(turns_->stop(bob_, turn->generation.id)), Errc::not_found);
  EXPECT_ERRC(await(turns_->get(bob_, turn->generation.id)), Errc::not_found);
  EXPECT_TRUE(gm_->running(chat.chat.id).has_value());
  auto g = await(turns_->get(alice_, turn->generation.id));
  ASSERT_OK(g);
  EXPECT_EQ(g->status, "running");
  EXPECT_ERRC(await(turns_->stop(alice_, 987654)), Errc::not_found);
}

TEST_F(TurnServiceTest, StopBeforeTheFirstTokenStoresAnEmptyStoppedReply) {
  llm_.set_script(Script{{"never"}, milliseconds(0), 0});
  auto chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "hi", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));
  ASSERT_TRUE(gm_->stop(turn->generation.id));
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_FALSE(gm_->stop(turn->generation.id));  // no longer running
  auto reply = message(turn->reply.id);
  EXPECT_EQ(reply.status, "stopped");
  EXPECT_EQ(reply.content, "");
}

TEST_F(TurnServiceTest, BackendFailureIsStoredWithThePartialText) {
  llm_.set_script(Script{{"Par", "tial"}, milliseconds(0), -1,
                         make_error(Errc::upstream, "upstream said no")});
  auto chat = new_chat(alice_, aria_.id);
  auto sub = subscribe(alice_, chat.chat.id, 0);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "hi", ""));
  ASSERT_OK(turn);
  auto evs = collect_until(*sub, "generation.finished");
  const auto& fin = evs.back().body;
  EXPECT_EQ(fin.at("generation").at("status").as_string(), "failed");
  EXPECT_EQ(fin.at("generation").at("error").as_string(), "upstream said no");
  EXPECT_EQ(fin.at("message").at("content").as_string(), "Partial");
  ASSERT_TRUE(wait_idle(chat.chat.id));
  auto gen = generation(turn->generation.id);
  EXPECT_EQ(gen.status, "failed");
  EXPECT_EQ(gen.error, "upstream said no");
  auto reply = message(turn->reply.id);
  EXPECT_EQ(reply.status, "failed");
  EXPECT_EQ(reply.content, "Partial");
  // A failed turn does not block the chat.
  llm_.set_script(Script{{"ok"}});
  ASSERT_OK(await(turns_->post_message(alice_, chat.chat.id, "again", "")));
  ASSERT_TRUE(wait_idle(chat.chat.id));
}

TEST_F(TurnServiceTest, PartialTextIsPersistedWhileStreaming) {
  llm_.set_script(Script{{"one", " two", " three"}, milliseconds(8), 3});
  auto chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "count", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));
  // flush_interval_ms is 5: the partial text reaches the store before the generation ends.
  ASSERT_TRUE(run_until([&] {
    auto m = store_->chats().get_message(alice_.id, turn->reply.id);
    return m.ok() && m->status == "streaming" && !m->content.empty();
  }));
  auto m = message(turn->reply.id);
  EXPECT_EQ(m.content.rfind("one", 0), 0u) << m.content;
  llm_.release();
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_EQ(message(turn->reply.id).content, "one two three");
  EXPECT_EQ(message(turn->reply.id).status, "completed");
}

TEST_F(TurnServiceTest, ShutdownInterruptsRunningGenerations) {
  llm_.set_script(Script{{"Half", " a", " reply"}, milliseconds(0), 1});
  auto chat = new_chat(alice_, aria_.id);
  auto sub = subscribe(alice_, chat.chat.id, 0);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "hi", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));

  shutdown(milliseconds(30), milliseconds(5000));
  EXPECT_EQ(gm_->running_count(), 0u);
  auto evs = drain(*sub);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.back().type, "generation.finished");
  EXPECT_EQ(evs.back().body.at("generation").at("status").as_string(), "interrupted");
  auto gen = generation(turn->generation.id);
  EXPECT_EQ(gen.status, "interrupted");
  auto reply = message(turn->reply.id);
  EXPECT_EQ(reply.status, "interrupted");
  EXPECT_EQ(reply.content, "Half");
  // No new generations after shutdown.
  auto refused = await(turns_->post_message(alice_, chat.chat.id, "more", ""));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.error().code == Errc::unavailable || refused.error().code == Errc::conflict)
      << refused.error().message;
  EXPECT_EQ(llm_.calls(), 1);
}

TEST_F(TurnServiceTest, ShutdownLetsQuickGenerationsFinish) {
  llm_.set_script(Script{{"a", "b", "c"}, milliseconds(10)});
  auto chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "hi", ""));
  ASSERT_OK(turn);
  shutdown(milliseconds(5000), milliseconds(5000));
  auto gen = generation(turn->generation.id);
  EXPECT_EQ(gen.status, "completed");
  EXPECT_EQ(message(turn->reply.id).content, "abc");
}

TEST_F(TurnServiceTest, RegenerateCreatesASwipe) {
  llm_.set_script(Script{{"First"}});
  auto chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "hi", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(wait_idle(chat.chat.id));

  llm_.set_script(Script{{"Sec", "ond"}});
  auto sub = subscribe(alice_, chat.chat.id, bus_->last_seq(chat.chat.id));
  auto regen = await(turns_->start_generation(alice_, chat.chat.id, "regenerate", 0));
  ASSERT_OK(regen);
  EXPECT_EQ(regen->generation.kind, "regenerate");
  EXPECT_NE(regen->reply.id, turn->reply.id);
  EXPECT_EQ(regen->reply.parent_id, turn->user_message.id);
  EXPECT_EQ(regen->reply.swipe_count, 2);
  EXPECT_EQ(regen->reply.swipe_index, 1);
  auto evs = collect_until(*sub, "generation.finished");
  EXPECT_EQ(types(evs), (std::vector<std::string>{"message.created", "generation.started",
                                                  "token", "token", "generation.finished"}));
  EXPECT_EQ(evs[0].body.at("message").at("id").as_int64(), regen->reply.id);
  ASSERT_TRUE(wait_idle(chat.chat.id));

  // The old reply is kept; the new one is selected.
  EXPECT_EQ(message(turn->reply.id).content, "First");
  auto p = path(chat.chat.id);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p.back().id, regen->reply.id);
  EXPECT_EQ(p.back().content, "Second");
  EXPECT_EQ(p.back().status, "completed");
  // The prompt ended with the user message, not with the replaced reply.
  auto reqs = llm_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].messages.back().role, "user");
  EXPECT_EQ(reqs[1].messages.back().content, "hi");
}

TEST_F(TurnServiceTest, RegenerateAnOlderReplyByMessageId) {
  llm_.set_script(Script{{"r"}});
  auto chat = new_chat(alice_, aria_.id);
  auto t1 = await(turns_->post_message(alice_, chat.chat.id, "one", ""));
  ASSERT_OK(t1);
  ASSERT_TRUE(wait_idle(chat.chat.id));
  ASSERT_OK(await(turns_->post_message(alice_, chat.chat.id, "two", "")));
  ASSERT_TRUE(wait_idle(chat.chat.id));
  auto regen = await(turns_->start_generation(alice_, chat.chat.id, "regenerate", t1->reply.id));
  ASSERT_OK(regen);
  EXPECT_EQ(regen->reply.parent_id, t1->user_message.id);
  ASSERT_TRUE(wait_idle(chat.chat.id));
  auto p = path(chat.chat.id);
  ASSERT_EQ(p.size(), 3u);  // greeting, "one", new reply: the branch below the old reply is off-path
  EXPECT_EQ(p.back().id, regen->reply.id);
}

TEST_F(TurnServiceTest, ContinueAppendsToTheReply) {
  llm_.set_script(Script{{"Once", " upon"}});
  auto chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "story", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(wait_idle(chat.chat.id));

  llm_.set_script(Script{{" a", " time"}});
  auto sub = subscribe(alice_, chat.chat.id, bus_->last_seq(chat.chat.id));
  auto cont = await(turns_->start_generation(alice_, chat.chat.id, "continue", 0));
  ASSERT_OK(cont);
  EXPECT_EQ(cont->generation.kind, "continue");
  EXPECT_EQ(cont->reply.id, turn->reply.id);
  EXPECT_EQ(cont->reply.status, "streaming");
  auto evs = collect_until(*sub, "generation.finished");
  EXPECT_EQ(types(evs),
            (std::vector<std::string>{"generation.started", "token", "token", "generation.finished"}));
  EXPECT_EQ(evs.back().body.at("message").at("content").as_string(), "Once upon a time");
  ASSERT_TRUE(wait_idle(chat.chat.id));
  auto m = message(turn->reply.id);
  EXPECT_EQ(m.content, "Once upon a time");
  EXPECT_EQ(m.status, "completed");
  auto reqs = llm_.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].continue_from, "Once upon");
  EXPECT_EQ(reqs[1].messages.back().content, "Once upon");
}

TEST_F(TurnServiceTest, StoppedContinueKeepsTheOriginalTextPlusThePart) {
  llm_.set_script(Script{{"Base"}});
  auto chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "go", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(wait_idle(chat.chat.id));
  llm_.set_script(Script{{" more", " never"}, milliseconds(0), 1});
  auto cont = await(turns_->start_generation(alice_, chat.chat.id, "continue", turn->reply.id));
  ASSERT_OK(cont);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));
  ASSERT_OK(await(turns_->stop(alice_, cont->generation.id)));
  ASSERT_TRUE(wait_idle(chat.chat.id));
  auto m = message(turn->reply.id);
  EXPECT_EQ(m.content, "Base more");
  EXPECT_EQ(m.status, "stopped");
}

TEST_F(TurnServiceTest, GenerationRequestValidation) {
  auto chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "hi", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_ERRC(await(turns_->start_generation(alice_, chat.chat.id, "rewrite", 0)),
              Errc::bad_request);
  EXPECT_ERRC(await(turns_->start_generation(alice_, chat.chat.id, "regenerate",
                                             turn->user_message.id)),
              Errc::bad_request);
  EXPECT_ERRC(await(turns_->start_generation(alice_, chat.chat.id, "continue",
                                             turn->user_message.id)),
              Errc::bad_request);
  auto other = new_chat(alice_, aria_.id);
  EXPECT_ERRC(await(turns_->start_generation(alice_, other.chat.id, "regenerate", turn->reply.id)),
              Errc::not_found);
  EXPECT_ERRC(await(turns_->start_generation(bob_, chat.chat.id, "regenerate", 0)),
              Errc::not_found);
  EXPECT_ERRC(await(turns_->start_generation(alice_, chat.chat.id, "regenerate", 999999)),
              Errc::not_found);
  EXPECT_EQ(gm_->running_count(), 0u);
  EXPECT_EQ(llm_.calls(), 1);
}

TEST_F(TurnServiceTest, RegenerateInAChatWithoutMessages) {
  auto mute = aria_;
  mute.id = 0;
  mute.first_mes.clear();
  auto created = store_->characters().create_character(mute);
  ASSERT_OK(created);
  auto chat = new_chat(alice_, created->id);
  EXPECT_EQ(chat.chat.leaf_id, 0);
  EXPECT_ERRC(await(turns_->start_generation(alice_, chat.chat.id, "regenerate", 0)),
              Errc::bad_request);
  // The first message of an empty chat has no parent.
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "anyone?", ""));
  ASSERT_OK(turn);
  EXPECT_EQ(turn->user_message.parent_id, 0);
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_EQ(path(chat.chat.id).size(), 2u);
}

TEST_F(TurnServiceTest, PostMessageValidation) {
  auto chat = new_chat(alice_, aria_.id);
  EXPECT_ERRC(await(turns_->post_message(alice_, chat.chat.id, "", "")), Errc::bad_request);
  EXPECT_ERRC(await(turns_->post_message(alice_, chat.chat.id, std::string(256 * 1024 + 1, 'x'), "")),
              Errc::too_large);
  EXPECT_ERRC(await(turns_->post_message(alice_, chat.chat.id, "hi", std::string(201, 'k'))),
              Errc::bad_request);
  EXPECT_ERRC(await(turns_->post_message(bob_, chat.chat.id, "hi", "")), Errc::not_found);
  EXPECT_ERRC(await(turns_->post_message(alice_, 424242, "hi", "")), Errc::not_found);
  EXPECT_EQ(llm_.calls(), 0);
  EXPECT_EQ(gm_->running_count(), 0u);
  // Exactly at the limits is fine.
  ASSERT_OK(await(turns_->post_message(alice_, chat.chat.id, std::string(256 * 1024, 'x'),
                                       std::string(200, 'k'))));
  ASSERT_TRUE(wait_idle(chat.chat.id));
}

TEST_F(TurnServiceTest, GenerationsOfManyChatsRunConcurrently) {
  llm_.set_script(Script{{"a", "b"}, milliseconds(0), 1});
  std::vector<ChatView> chats;
  for (int i = 0; i < 4; ++i) chats.push_back(new_chat(alice_, aria_.id));
  for (auto& c : chats) ASSERT_OK(await(turns_->post_message(alice_, c.chat.id, "hi", "")));
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 4; }));
  EXPECT_EQ(gm_->running_count(), 4u);
  EXPECT_GE(tasks_.live(), 4u);
  llm_.release();
  for (auto& c : chats) ASSERT_TRUE(wait_idle(c.chat.id));
  EXPECT_EQ(gm_->running_count(), 0u);
  settle();
  EXPECT_EQ(tasks_.live(), 0u);
}

class ShortDeadlineTest : public ChatFixture {
  void configure(Config& c) override { c.generation.max_duration_ms = 60; }
};

TEST_F(ShortDeadlineTest, GenerationPastItsDeadlineFails) {
  llm_.set_script(Script{{"slow"}, milliseconds(0), 1});
  auto chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "hi", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(wait_idle(chat.chat.id));
  auto gen = generation(turn->generation.id);
  EXPECT_EQ(gen.status, "failed");
  EXPECT_NE(gen.error.find("max_duration_ms"), std::string::npos) << gen.error;
  EXPECT_EQ(message(turn->reply.id).content, "slow");
}

}  // namespace
}  // namespace troupe::chat::testing
