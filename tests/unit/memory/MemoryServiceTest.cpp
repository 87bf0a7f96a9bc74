// MemoryServiceImpl against a real SQLite store, a word-hash embedder and a brute-force engine:
// score parts, skipping the prompt window, token budget, cache invalidation, breaker fallback
// with a fake clock, deadline misses, forgetting, and the importance heuristic.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/detached.hpp>
#include <optional>
#include <cmath>
#include <filesystem>

#include "MemoryTestStore.h"
#include "MemoryFakes.h"
#include "core/Crypto.h"
#include "memory/service/Importance.h"
#include "memory/service/MemoryServiceImpl.h"
#include "memory/service/SpaceKey.h"
#include "store/sqlite/SqliteStore.h"

namespace troupe::memory::testing {
namespace {

namespace asio = boost::asio;

class MemoryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(seeded_store("troupe-memory-test", clock_, dir_, store_, scope_));
    config_.breaker_failures = 2;
    config_.breaker_open_ms = 1000;
    config_.weight_relevance = 1.0;
    config_.weight_recency = 0.3;
    config_.weight_importance = 0.2;
    config_.recency_half_life_hours = 1;
    make_service();
  }
  void TearDown() override {
    db_pool_.join();  // retrieval-time updates are posted without waiting
    compute_pool_.join();
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void make_service(bool vectors = true) {
    service_ = std::make_unique<MemoryServiceImpl>(MemoryServiceParts{
        config_, store_->memories(), db_pool_, compute_pool_, vectors ? &embedder_ : nullptr,
        vectors ? &engine_ : nullptr, clock_, &metrics_});
  }

  template <class T>
  T run(asio::awaitable<T> a) {
    asio::io_context io;
    std::optional<T> out;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(a)); },
        asio::detached);
    io.run();
    EXPECT_TRUE(out.has_value());
    return std::move(*out);
  }

  // Stores a message (a new user turn) and its memory; returns the message.
  store::Message say(const std::string& text) {
    auto t = store_->chats().begin_turn(scope_.user_id, scope_.chat_id, text, "", "sim");
    EXPECT_TRUE(t.ok());
    EXPECT_TRUE(store_->chats().finish_generation(t->generation.id, "completed", "ok", "").ok());
    t->user_message.created_at = clock_.now_ms();
    auto s = run(service_->remember(scope_, t->user_message));
    EXPECT_TRUE(s.ok()) << s.error().message;
    return t->user_message;
  }

  RetrievalResult retrieve(const std::string& q, bool for_prompt = true,
                           std::vector<store::Id> window = {}) {
    RetrievalRequest r;
    r.scope = scope_;
    r.query = q;
    r.for_prompt = for_prompt;
    r.window_message_ids = std::move(window);
    return run(service_->retrieve(std::move(r)));
  }

  std::string dir_;
  FakeClock clock_;
  MetricsRegistry metrics_;
  asio::thread_pool db_pool_{1};
  asio::thread_pool compute_pool_{1};
  WordHashEmbedder embedder_{64};
  BruteForceEngine engine_{64};
  MemoryConfig config_;
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<MemoryServiceImpl> service_;
  MemoryScope scope_;
};

TEST_F(MemoryServiceTest, RanksByWeightedPartsAndDecaysRecency) {
  auto fact = say("My sister Ines lives in Lisbon near the river");
  clock_.advance_ms(3'600'000);  // one half-life
  say("The weather is grey today");
  auto r = retrieve("where does your sister live");
  EXPECT_EQ(r.mode, "vector");
  ASSERT_FALSE(r.items.empty());
  const auto& top = r.items[0];
  EXPECT_EQ(top.message_id, fact.id);
  EXPECT_NEAR(top.recency, 0.5, 1e-6);
  EXPECT_GT(top.relevance, 0.0);
  EXPECT_NEAR(top.score, 1.0 * top.relevance + 0.3 * top.recency + 0.2 * top.importance, 1e-9);
  for (std::size_t i = 1; i < r.items.size(); ++i) EXPECT_GE(r.items[i - 1].score, r.items[i].score);
}

TEST_F(MemoryServiceTest, PromptSkipsWindowListingFlagsIt) {
  auto a = say("I keep a red bicycle in the garden shed");
  auto b = say("the bicycle has a broken bell");
  auto prompt = retrieve("bicycle", true, {a.id});
  ASSERT_EQ(prompt.items.size(), 1u);
  EXPECT_EQ(prompt.items[0].message_id, b.id);
  auto listing = retrieve("bicycle", false, {a.id});
  ASSERT_EQ(listing.items.size(), 2u);
  int flagged = 0;
  for (auto& m : listing.items) flagged += m.in_window && m.message_id == a.id;
  EXPECT_EQ(flagged, 1);
}

TEST_F(MemoryServiceTest, TokenBudgetLimitsThePromptItems) {
  say(std::string("dragon ") + std::string(400, 'x'));  // ~100 tokens
  say("dragon eggs are warm");
  config_.token_budget = 30;
  make_service();
  auto r = retrieve("dragon");
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].text, "dragon eggs are warm");
  EXPECT_EQ(retrieve("dragon", false).items.size(), 2u);  // a listing has no budget
}

TEST_F(MemoryServiceTest, CacheServesRepeatsAndSpaceChangesInvalidate) {
  say("the lighthouse keeper sings at night");
  retrieve("lighthouse");
  const int after_first = engine_.searches.load();
  retrieve("lighthouse");
  EXPECT_EQ(engine_.searches.load(), after_first);  // cached
  say("the lighthouse lamp is green");
  auto r = retrieve("lighthouse");
  EXPECT_EQ(engine_.searches.load(), after_first + 1);
  EXPECT_EQ(r.items.size(), 2u);
  clock_.advance_ms(config_.cache_ttl_ms + 1);
  retrieve("lighthouse");
  EXPECT_EQ(engine_.searches.load(), after_first + 2);  // expired
}

TEST_F(MemoryServiceTest, BreakerOpensToKeywordAndRecoversAfterOpenTime) {
  config_.cache_ttl_ms = 0;
  make_service();
  auto fact = say("my cat is called Pepper");
  engine_.fail_with = Errc::unavailable;
  for (int i = 0; i < 2; ++i) {
    auto r = retrieve("what is the cat called");
    EXPECT_EQ(r.mode, "keyword");
    ASSERT_FALSE(r.items.empty());
    EXPECT_EQ(r.items[0].message_id, fact.id);
  }
  EXPECT_EQ(service_->breaker_state(), CircuitBreaker::State::open);
  const int calls = engine_.searches.load();
  EXPECT_EQ(retrieve("cat").mode, "keyword");
  EXPECT_EQ(engine_.searches.load(), calls);  // open: the engine is not asked
  engine_.fail_with.reset();
  clock_.advance_ms(1001);
  EXPECT_EQ(retrieve("cat").mode, "vector");  // the half-open probe succeeds
  EXPECT_EQ(service_->breaker_state(), CircuitBreaker::State::closed);
  EXPECT_NE(metrics_.render().find("troupe_memory_keyword_fallbacks_total 3"), std::string::npos);
}

TEST_F(MemoryServiceTest, DeadlineMissFallsBackToKeyword) {
  say("the treasure is buried under the oak");
  engine_.fail_with = Errc::timeout;
  auto r = retrieve("where is the treasure");
  EXPECT_EQ(r.mode, "keyword");
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_DOUBLE_EQ(r.items[0].relevance, 1.0);
}

TEST_F(MemoryServiceTest, NoEmbedderMeansKeywordMode) {
  make_service(false);
  say("violins remind me of my grandfather");
  auto r = retrieve("violins");
  EXPECT_EQ(r.mode, "keyword");
  EXPECT_EQ(r.items.size(), 1u);
}

TEST_F(MemoryServiceTest, ForgetRemovesFromStoreIndexAndResults) {
  auto a = say("the castle has seven towers");
  const auto space = static_cast<SpaceId>(space_key(scope_, "character"));
  EXPECT_EQ(engine_.size(space), 1u);
  ASSERT_EQ(retrieve("castle towers").items.size(), 1u);
  ASSERT_TRUE(run(service_->forget(scope_.chat_id, {a.id})).ok());
  EXPECT_EQ(engine_.size(space), 0u);
  EXPECT_TRUE(retrieve("castle towers").items.empty());
  say("the castle is cold");
  ASSERT_TRUE(run(service_->forget_character(scope_.user_id, scope_.character_id)).ok());
  EXPECT_EQ(engine_.size(space), 0u);
  EXPECT_TRUE(retrieve("castle").items.empty());
}

TEST_F(MemoryServiceTest, RecordsWhatAGenerationUsed) {
  say("the bakery opens at six");
  auto r = retrieve("bakery");
  auto t = store_->chats().begin_turn(scope_.user_id, scope_.chat_id, "x", "", "sim");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(run(service_->record(t->generation.id, r)).ok());
  auto back = run(service_->used_by(t->generation.id));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->mode, "vector");
  ASSERT_EQ(back->used.size(), 1u);
  EXPECT_EQ(back->used[0].memory_id, r.items[0].memory_id);
}

TEST_F(MemoryServiceTest, RememberTurnStoresMessagesRecordAndRetrievalTimes) {
  auto fact = say("the bakery opens at six");
  clock_.advance_ms(5000);
  auto used = retrieve("bakery");  // for the prompt: its retrieval time is noted, not yet stored
  ASSERT_EQ(used.items.size(), 1u);
  auto before = store_->memories().get(std::vector<store::Id>{used.items[0].memory_id});
  ASSERT_TRUE(before.ok());
  EXPECT_EQ((*before)[0].last_retrieved_at, 0);

  auto t = store_->chats().begin_turn(scope_.user_id, scope_.chat_id, "when does the bakery open", "", "sim");
  ASSERT_TRUE(t.ok());
  auto reply = t->reply;
  reply.content = "the baker said at dawn, with warm rolls";
  std::vector<store::Message> turn{t->user_message, reply};
  ASSERT_TRUE(run(service_->remember_turn(scope_, turn, t->generation.id, used)).ok());

  auto back = run(service_->used_by(t->generation.id));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->mode, "vector");
  ASSERT_EQ(back->used.size(), 1u);
  EXPECT_EQ(back->used[0].memory_id, used.items[0].memory_id);
  auto after = store_->memories().get(std::vector<store::Id>{used.items[0].memory_id});
  EXPECT_EQ((*after)[0].last_retrieved_at, clock_.now_ms());
  // Both new memories are in the store and the index (the cache was invalidated).
  auto listing = retrieve("warm rolls baker dawn", false);
  ASSERT_FALSE(listing.items.empty());
  EXPECT_EQ(listing.items[0].message_id, reply.id);
  EXPECT_EQ(listing.items.size(), 3u);
  EXPECT_EQ(*store_->memories().space_size(service_->space_of(scope_)), 3);

  // A message whose text is gone is forgotten; the others of the turn are still stored.
  reply.content.clear();
  std::vector<store::Message> edited{reply};
  RetrievalResult none;
  ASSERT_TRUE(run(service_->remember_turn(scope_, edited, 0, none)).ok());
  EXPECT_EQ(*store_->memories().space_size(service_->space_of(scope_)), 2);
  for (auto& m : retrieve("warm rolls baker dawn", false).items) EXPECT_NE(m.message_id, reply.id);
  (void)fact;
}

TEST(ImportanceTest, FactsNamesAndNumbersOutrankSmallTalk) {
  const double fact = importance_of("I live in Porto with my brother Tiago since 2019.");
  const double chatter = importance_of("ok");
  const double question = importance_of("what do you think?");
  EXPECT_GT(fact, question);
  EXPECT_GT(fact, chatter);
  EXPECT_LT(importance_of("do you have a sister?"), importance_of("I have a sister."));
  EXPECT_GE(chatter, 0.0);
  EXPECT_LE(fact, 1.0);
}

}  // namespace
}  // namespace troupe::memory::testing
