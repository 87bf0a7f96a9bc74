// Concurrent writers on one store from four threads: no errors, nothing lost.
#include <atomic>
#include <set>
#include <thread>

#include "StoreTestUtil.h"

namespace troupe::store::sqlite::testing {

using ConcurrencyTest = StoreBackendTest;
TROUPE_STORE_BACKENDS(ConcurrencyTest);

TEST_P(ConcurrencyTest, FourWriterThreads) {
  constexpr int kThreads = 4;
  constexpr int kTurns = 20;
  constexpr int kReserves = 40;
  User shared_user = make_user("shared");
  Character shared_char = make_character(shared_user.id, "Shared");
  Chat shared = make_chat(shared_user.id, shared_char.id);

  std::atomic<int> errors{0};
  std::vector<std::vector<std::int64_t>> reserved(kThreads);
  std::vector<Id> chat_ids(kThreads);
  std::vector<Id> user_ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto fail = [&](const Error& e) {
        ++errors;
        ADD_FAILURE() << "thread " << t << ": " << e.message;
      };
      const std::string name = "user" + std::to_string(t);
      auto u = users().create_user(name, false, sha256_hex(name));
      if (!u.ok()) return fail(u.error());
      user_ids[t] = u->id;
      Character ch;
      ch.user_id = u->id;
      ch.name = "char" + std::to_string(t);
      auto c = characters().create_character(ch);
      if (!c.ok()) return fail(c.error());
      Chat in;
      in.user_id = u->id;
      in.character_id = c->id;
      auto chat = chats().create_chat(in, {"hello"});
      if (!chat.ok()) return fail(chat.error());
      chat_ids[t] = chat->id;
      for (int i = 0; i < kTurns; ++i) {
        auto turn = chats().begin_turn(u->id, chat->id, "msg " + std::to_string(i),
                                       "k" + std::to_string(i), "sim");
        if (!turn.ok()) return fail(turn.error());
        auto f = chats().finish_generation(turn->generation.id, "completed", "ok", "");
        if (!f.ok()) return fail(f.error());
        auto page = chats().path_page(chat->id, 0, 10);  // readers beside the writers
        if (!page.ok()) return fail(page.error());
      }
      for (int i = 0; i < kReserves; ++i) {
        auto r = chats().reserve_seq(shared.id, 1);
        if (!r.ok()) return fail(r.error());
        reserved[t].push_back(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(errors.load(), 0);

  auto n = users().count_users();
  ASSERT_OK(n);
  EXPECT_EQ(*n, kThreads + 1);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(path_ids(chat_ids[t]).size(), static_cast<std::size_t>(1 + 2 * kTurns));
    auto list = characters().list_characters(user_ids[t], {});
    ASSERT_OK(list);
    EXPECT_EQ(list->size(), 1u);
  }
  std::set<std::int64_t> all;
  for (const auto& v : reserved) {
    for (std::size_t i = 1; i < v.size(); ++i) EXPECT_GT(v[i], v[i - 1]);  // monotonic per thread
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kReserves));  // never handed out twice
  EXPECT_EQ(chat(shared_user.id, shared.id).seq_reserved, kThreads * kReserves);
}

TEST_P(ConcurrencyTest, SameIdempotencyKeyFromManyThreadsCreatesOneTurn) {
  User u = make_user("alice");
  Character ch = make_character(u.id, "Aria");
  Chat c = make_chat(u.id, ch.id);
  constexpr int kThreads = 4;
  std::vector<Id> user_message_ids(kThreads);
  std::atomic<int> fresh{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto turn = chats().begin_turn(u.id, c.id, "once", "same-key", "sim");
      if (!turn.ok()) {
        ++errors;
        return;
      }
      if (!turn->replayed) ++fresh;
      user_message_ids[t] = turn->user_message.id;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(fresh.load(), 1);
  for (Id id : user_message_ids) EXPECT_EQ(id, user_message_ids[0]);
  EXPECT_EQ(path_ids(c.id).size(), 3u);
}

}  // namespace troupe::store::sqlite::testing
