// Two MemoryServiceImpl over one store, each with its own vector engine and cache, joined by an
// in-process bus the way the app wires a shared store: a space changed through one service is
// dropped by the other, which reloads it from the store on its next search.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <optional>

#include "../memory/MemoryTestStore.h"
#include "../memory/MemoryFakes.h"
#include "chat/StoreSeqAllocator.h"
#include "core/Crypto.h"
#include "memory/service/ExactVectorEngine.h"
#include "memory/service/MemoryServiceImpl.h"
#include "store/sqlite/SqliteStore.h"
#include "sync/InProcessBus.h"

namespace troupe::memory::testing {
namespace {

namespace asio = boost::asio;
constexpr const char* kTopic = "memory.space";

struct Node {
  Node(const std::string& token, store::MemoryStore& store, const MemoryConfig& config,
       const Clock& clock, asio::thread_pool& db_pool, sync::EventBus& bus)
      : engine(64, loader(store), compute),
        service(MemoryServiceParts{config, store, db_pool, compute, &embedder, &engine, clock, nullptr}),
        bus(bus) {
    service.on_space_changed([&bus, token](std::int64_t space) {
      bus.publish_control(kTopic, token + " " + std::to_string(space));
    });
    sub = bus.subscribe_control(kTopic, [this, token](const std::string& payload) {
      const auto sp = payload.find(' ');
      if (sp == std::string::npos || payload.compare(0, sp, token) == 0) return;
      ++received;
      service.invalidate_space(std::stoll(payload.substr(sp + 1)));
    });
  }
  ~Node() {
    bus.unsubscribe_control(sub);
    engine.shutdown();
    compute.join();
  }
  static SpaceLoader loader(store::MemoryStore& store) {
    return [&store](SpaceId space) -> Result<SpaceVectors> {
      SpaceVectors out;
      std::vector<store::Id> ids;
      auto s = store.load_space(static_cast<std::int64_t>(space), "word-hash", ids, out.vectors, 64);
      if (!s.ok()) return s.error();
      out.ids.assign(ids.begin(), ids.end());
      return out;
    };
  }
  asio::thread_pool compute{1};
  WordHashEmbedder embedder{64};
  ExactVectorEngine engine;
  MemoryServiceImpl service;
  sync::EventBus& bus;
  std::uint64_t sub = 0;
  int received = 0;
};

class MemorySpaceInvalidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(seeded_store("troupe-memory-inval", clock_, dir_, store_, scope_));
    seq_ = std::make_unique<chat::StoreSeqAllocator>(store_->chats());
    bus_ = std::make_unique<sync::InProcessBus>(*seq_, sync::InProcessBusOptions{});
    a_ = std::make_unique<Node>("node-a", store_->memories(), config_, clock_, db_pool_, *bus_);
    b_ = std::make_unique<Node>("node-b", store_->memories(), config_, clock_, db_pool_, *bus_);
  }
  void TearDown() override {
    db_pool_.join();
    a_.reset();
    b_.reset();
    bus_.reset();
    seq_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // One io_context for the whole test, destroyed after TearDown joined the pools: a pool thread
  // may still be inside its wake-up of the context when run() has already returned.
  template <class T>
  T run(asio::awaitable<T> a) {
    std::optional<T> out;
    io_.restart();
    asio::co_spawn(
        io_, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(a)); }, asio::detached);
    io_.run();
    EXPECT_TRUE(out.has_value());
    return std::move(*out);
  }

  store::Message say(Node& n, const std::string& text) {
    auto t = store_->chats().begin_turn(scope_.user_id, scope_.chat_id, text, "", "sim");
    EXPECT_TRUE(t.ok());
    EXPECT_TRUE(store_->chats().finish_generation(t->generation.id, "completed", "ok", "").ok());
    t->user_message.created_at = clock_.now_ms();
    auto s = run(n.service.remember(scope_, t->user_message));
    EXPECT_TRUE(s.ok()) << s.error().message;
    return t->user_message;
  }

  std::vector<std::string> recall(Node& n, const std::string& q) {
    RetrievalRequest r;
    r.scope = scope_;
    r.query = q;
    r.for_prompt = false;
    auto res = run(n.service.retrieve(std::move(r)));
    EXPECT_EQ(res.mode, "vector");
    std::vector<std::string> out;
    for (auto& m : res.items) out.push_back(m.text);
    return out;
  }

  std::string dir_;
  FakeClock clock_;
  asio::thread_pool db_pool_{1};
  asio::io_context io_;
  MemoryConfig config_;
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  std::unique_ptr<chat::StoreSeqAllocator> seq_;
  std::unique_ptr<sync::InProcessBus> bus_;
  std::unique_ptr<Node> a_, b_;
  MemoryScope scope_;
};

TEST_F(MemorySpaceInvalidationTest, RememberedThroughOneIsFoundThroughTheOther) {
  say(*a_, "the lighthouse keeper sings at night");
  // B loads the space and caches a result.
  ASSERT_EQ(recall(*b_, "lighthouse").size(), 1u);
  const int before = b_->received;
  say(*a_, "the lighthouse lamp is green");
  EXPECT_EQ(b_->received, before + 1);
  EXPECT_EQ(a_->received, 0);  // its own messages are skipped
  EXPECT_EQ(recall(*b_, "lighthouse").size(), 2u);
}

TEST_F(MemorySpaceInvalidationTest, ForgottenThroughOneDisappearsFromTheOther) {
  auto m = say(*a_, "the castle has seven towers");
  say(*a_, "the castle is cold");
  ASSERT_EQ(recall(*b_, "castle").size(), 2u);
  ASSERT_TRUE(run(a_->service.forget(scope_.chat_id, {m.id})).ok());
  auto left = recall(*b_, "castle");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0], "the castle is cold");
  ASSERT_TRUE(run(b_->service.forget_character(scope_.user_id, scope_.character_id)).ok());
  EXPECT_TRUE(recall(*a_, "castle").empty());
}

TEST_F(MemorySpaceInvalidationTest, WithoutTheMessageTheOtherKeepsItsStaleIndex) {
  say(*a_, "the river is wide");
  ASSERT_EQ(recall(*b_, "river").size(), 1u);
  bus_->unsubscribe_control(b_->sub);
  say(*a_, "the river is deep");
  EXPECT_EQ(recall(*b_, "river").size(), 1u);  // cached and resident: B did not hear of it
  b_->service.invalidate_space(a_->service.space_of(scope_));
  EXPECT_EQ(recall(*b_, "river").size(), 2u);
}

}  // namespace
}  // namespace troupe::memory::testing
