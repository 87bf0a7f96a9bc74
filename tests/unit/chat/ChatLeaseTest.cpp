#include <gtest/gtest.h>

#include <set>

#include "ChatTestUtil.h"
#include "chat/GenerationSweeper.h"

namespace troupe::chat::testing {
namespace {

using std::chrono::milliseconds;

class FakeChatLeases;

class FakeLease final : public sync::ChatLease {
 public:
  FakeLease(FakeChatLeases* owner, std::int64_t chat) : owner_(owner), chat_(chat) {}
  void keep(std::function<void()> on_lost) override {
    std::lock_guard lock(mu_);
    on_lost_ = std::move(on_lost);
  }
  boost::asio::awaitable<Status> release() override;
  void release_detached() override;
  std::int64_t fence() const override { return 1; }
  bool confirmed() const override { return confirmed_; }
  bool confirmed_ = true;
  // Simulates the lease service telling the holder it lost the lease.
  void lose() {
    std::function<void()> f;
    {
      std::lock_guard lock(mu_);
      f = on_lost_;
    }
    if (f) f();
  }

 private:
  FakeChatLeases* owner_;
  std::int64_t chat_;
  std::mutex mu_;
  std::function<void()> on_lost_;
};

// Leases as several nodes would see them, scripted by the test.
class FakeChatLeases final : public sync::ChatLeases {
 public:
  boost::asio::awaitable<Result<std::shared_ptr<sync::ChatLease>>> acquire(std::int64_t chat) override {
    std::lock_guard lock(mu_);
    log_.push_back("acquire:" + std::to_string(chat));
    if (unavailable) co_return make_error(Errc::unavailable, "lease service down");
    if (busy.count(chat)) co_return make_error(Errc::conflict, "held by another node");
    auto l = std::make_shared<FakeLease>(this, chat);
    l->confirmed_ = !provisional;
    granted_[chat] = l;
    co_return std::shared_ptr<sync::ChatLease>(l);
  }
  boost::asio::awaitable<Result<bool>> held(std::int64_t chat) override {
    std::lock_guard lock(mu_);
    if (unavailable) co_return make_error(Errc::unavailable, "lease service down");
    co_return held_elsewhere.count(chat) > 0;
  }
  bool shared() const override { return true; }
  std::chrono::milliseconds ttl() const override { return milliseconds(100); }

  void released(std::int64_t chat) {
    if (on_release) on_release(chat);
    std::lock_guard lock(mu_);
    log_.push_back("release:" + std::to_string(chat));
  }
  std::vector<std::string> log() const {
    std::lock_guard lock(mu_);
    return log_;
  }
  std::shared_ptr<FakeLease> granted(std::int64_t chat) {
    std::lock_guard lock(mu_);
    return granted_.count(chat) ? granted_[chat] : nullptr;
  }

  std::set<std::int64_t> busy;            // acquire answers conflict
  std::set<std::int64_t> held_elsewhere;  // held() answers true
  bool unavailable = false;
  bool provisional = false;  // grants unconfirmed leases
  std::function<void(std::int64_t)> on_release;  // runs before the release is logged

 private:
  mutable std::mutex mu_;
  std::vector<std::string> log_;
  std::map<std::int64_t, std::shared_ptr<FakeLease>> granted_;
};

boost::asio::awaitable<Status> FakeLease::release() {
  owner_->released(chat_);
  co_return Status{};
}
void FakeLease::release_detached() { owner_->released(chat_); }

class ChatLeaseTest : public ChatFixture {
 protected:
  void SetUp() override {
    ChatFixture::SetUp();
    if (HasFatalFailure()) return;
    chats_.reset();
    turns_.reset();
    gm_.reset();
    gm_ = std::make_unique<GenerationManager>(deps(), &leases_);
    turns_ = std::make_unique<TurnService>(deps(), *gm_);
    chats_ = std::make_unique<ChatService>(deps(), *gm_);
  }
  std::size_t running_in_store(store::Id chat) {
    auto r = store_->chats().list_running(chat, 100);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->size() : 0;
  }
  // A generation another node started and then died with: running in the store, text partial.
  store::Turn dead_turn(store::Id chat) {
    auto t = store_->chats().begin_turn(alice_.id, chat, "lost words", "", "fake");
    EXPECT_TRUE(t.ok());
    if (!t.ok()) return {};
    EXPECT_TRUE(store_->chats().save_partial(t->reply.id, "half a rep").ok());
    return *t;
  }

  FakeChatLeases leases_;
};

TEST_F(ChatLeaseTest, ConflictAnswers409AndStoresNothing) {
  auto chat = new_chat(alice_, aria_.id);
  const auto before = path(chat.chat.id).size();
  leases_.busy.insert(chat.chat.id);
  EXPECT_ERRC(await(turns_->post_message(alice_, chat.chat.id, "hello?", "")), Errc::conflict);
  EXPECT_ERRC(await(turns_->start_generation(alice_, chat.chat.id, "regenerate", 0)), Errc::conflict);
  EXPECT_EQ(path(chat.chat.id).size(), before);
  EXPECT_EQ(running_in_store(chat.chat.id), 0u);
  EXPECT_EQ(llm_.calls(), 0);
  EXPECT_FALSE(gm_->running(chat.chat.id).has_value());
  // The local reservation was given back: once the other node is done, the chat works here.
  leases_.busy.clear();
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "now?", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_EQ(generation(turn->generation.id).status, "completed");
}

TEST_F(ChatLeaseTest, UnreachableLeaseServiceAnswers503AndStoresNothing) {
  auto chat = new_chat(alice_, aria_.id);
  const auto before = path(chat.chat.id).size();
  leases_.unavailable = true;
  EXPECT_ERRC(await(turns_->post_message(alice_, chat.chat.id, "hello?", "")), Errc::unavailable);
  EXPECT_EQ(path(chat.chat.id).size(), before);
  EXPECT_EQ(running_in_store(chat.chat.id), 0u);
  EXPECT_FALSE(gm_->running(chat.chat.id).has_value());
}

TEST_F(ChatLeaseTest, LeaseIsReleasedOnlyAfterTheFinalStateIsStored) {
  auto chat = new_chat(alice_, aria_.id);
  std::atomic<int> running_at_release{-1};
  std::atomic<bool> announced_at_release{true};
  auto sub = subscribe(alice_, chat.chat.id, 0);
  ASSERT_TRUE(sub);
  leases_.on_release = [&](std::int64_t c) {
    running_at_release = static_cast<int>(running_in_store(c));
    // The finished event goes out after the release, so a client reacting to it finds the
    // chat free on every node.
    bool finished = false;
    while (auto e = sub->try_next()) finished = finished || e->type == "generation.finished";
    announced_at_release = finished;
  };
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "hi", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_EQ(running_at_release.load(), 0);
  EXPECT_FALSE(announced_at_release.load());
  EXPECT_EQ(generation(turn->generation.id).status, "completed");
  EXPECT_EQ(leases_.log(), (std::vector<std::string>{"acquire:" + std::to_string(chat.chat.id),
                                                    "release:" + std::to_string(chat.chat.id)}));
}

TEST_F(ChatLeaseTest, LostLeaseStopsTheGenerationAsInterruptedWithItsText) {
  llm_.set_script(Script{{"Hel", "lo", " there", "!"}, milliseconds(0), 2});
  auto chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "hi", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));
  auto lease = leases_.granted(chat.chat.id);
  ASSERT_TRUE(lease);
  lease->lose();
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_EQ(llm_.cancelled(), 1);
  auto g = generation(turn->generation.id);
  EXPECT_EQ(g.status, "interrupted");
  EXPECT_NE(g.error.find("lease"), std::string::npos) << g.error;
  auto reply = message(turn->reply.id);
  EXPECT_EQ(reply.status, "interrupted");
  EXPECT_EQ(reply.content, "Hello");
  auto log = leases_.log();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back(), "release:" + std::to_string(chat.chat.id));
}

TEST_F(ChatLeaseTest, TakingTheLeaseRecoversADeadNodesGeneration) {
  auto chat = new_chat(alice_, aria_.id);
  auto dead = dead_turn(chat.chat.id);
  auto sub = subscribe(alice_, chat.chat.id, 0);
  ASSERT_TRUE(sub);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "anyone there?", ""));
  ASSERT_OK(turn);
  auto evs = collect_until(*sub, "generation.started");
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs[0].type, "generation.finished");
  EXPECT_EQ(evs[0].body.at("generation").at("id").as_int64(), dead.generation.id);
  EXPECT_EQ(evs[0].body.at("generation").at("status").as_string(), "interrupted");
  EXPECT_EQ(evs[0].body.at("message").at("content").as_string(), "half a rep");
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_EQ(generation(dead.generation.id).status, "interrupted");
  EXPECT_EQ(message(dead.reply.id).content, "half a rep");
  EXPECT_EQ(message(dead.user_message.id).content, "lost words");  // acknowledged: kept
  EXPECT_EQ(generation(turn->generation.id).status, "completed");
}

TEST_F(ChatLeaseTest, SweeperInterruptsOnlyGenerationsWhoseLeaseIsFree) {
  auto dead_chat = new_chat(alice_, aria_.id);
  auto dead = dead_turn(dead_chat.chat.id);
  // A generation running here: listed as running, but not this sweeper's business.
  llm_.set_script(Script{{"a", "b"}, milliseconds(0), 1});
  auto live_chat = new_chat(alice_, aria_.id);
  auto live = await(turns_->post_message(alice_, live_chat.chat.id, "hi", ""));
  ASSERT_OK(live);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));

  GenerationSweeper sweeper(deps(), *gm_, leases_, milliseconds(50));
  leases_.held_elsewhere.insert(dead_chat.chat.id);  // its node is still alive
  auto n = await(sweeper.sweep_once());
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(generation(dead.generation.id).status, "running");

  leases_.held_elsewhere.clear();  // its lease expired: the node is gone
  n = await(sweeper.sweep_once());  // first sighting without a lease: not yet
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(generation(dead.generation.id).status, "running");
  n = await(sweeper.sweep_once());  // still without a lease one interval later
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(generation(dead.generation.id).status, "interrupted");
  EXPECT_EQ(message(dead.reply.id).content, "half a rep");
  EXPECT_EQ(generation(live->generation.id).status, "running");
  n = await(sweeper.sweep_once());
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);

  auto other = dead_turn(new_chat(alice_, aria_.id).chat.id);
  leases_.unavailable = true;  // nothing is interrupted on a guess
  EXPECT_ERRC(await(sweeper.sweep_once()), Errc::unavailable);
  leases_.unavailable = false;
  llm_.release();
  ASSERT_TRUE(wait_idle(live_chat.chat.id));
  EXPECT_EQ(generation(live->generation.id).status, "completed");
  EXPECT_EQ(generation(other.generation.id).status, "running");
}

TEST_F(ChatLeaseTest, SweeperSparesAGenerationWhoseLeaseReturnsWithinAnInterval) {
  auto chat = new_chat(alice_, aria_.id);
  auto g = dead_turn(chat.chat.id);  // e.g. running elsewhere on a provisional lease
  GenerationSweeper sweeper(deps(), *gm_, leases_, milliseconds(50));
  auto n = await(sweeper.sweep_once());  // free once
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
  leases_.held_elsewhere.insert(chat.chat.id);  // its node took the lease
  n = await(sweeper.sweep_once());
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
  leases_.held_elsewhere.clear();  // free again: counting starts over
  n = await(sweeper.sweep_once());
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(generation(g.generation.id).status, "running");
}

TEST_F(ChatLeaseTest, ProvisionalLeaseDoesNotRecoverOtherGenerations) {
  auto chat = new_chat(alice_, aria_.id);
  auto other = dead_turn(chat.chat.id);  // maybe alive on a node that cannot reach Redis either
  leases_.provisional = true;
  // The store's one-running-generation rule answers instead.
  EXPECT_ERRC(await(turns_->post_message(alice_, chat.chat.id, "hello?", "")), Errc::conflict);
  EXPECT_EQ(generation(other.generation.id).status, "running");
  EXPECT_FALSE(gm_->running(chat.chat.id).has_value());
  // Another chat works on a provisional lease.
  auto free_chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, free_chat.chat.id, "hi", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(wait_idle(free_chat.chat.id));
  EXPECT_EQ(generation(turn->generation.id).status, "completed");
}

TEST_F(ChatLeaseTest, SweeperRunsPeriodically) {
  auto chat = new_chat(alice_, aria_.id);
  auto dead = dead_turn(chat.chat.id);
  GenerationSweeper sweeper(deps(), *gm_, leases_, milliseconds(20));
  sweeper.start(io_.get_executor());
  EXPECT_TRUE(run_until([&] { return generation(dead.generation.id).status == "interrupted"; },
                        std::chrono::seconds(10)));
  // stop() blocks until the task ended: run the I/O meanwhile (the task runs on this context).
  std::atomic<bool> stopped{false};
  std::thread t([&] {
    sweeper.stop();
    stopped = true;
  });
  EXPECT_TRUE(run_until([&] { return stopped.load(); }, std::chrono::seconds(10)));
  t.join();
  EXPECT_EQ(tasks_.live(), 0u);
}

TEST_F(ChatLeaseTest, StopControlMessageStopsTheGenerationRunningHere) {
  llm_.set_script(Script{{"x", "y"}, milliseconds(0), 1});
  auto chat = new_chat(alice_, aria_.id);
  auto turn = await(turns_->post_message(alice_, chat.chat.id, "hi", ""));
  ASSERT_OK(turn);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));
  bus_->publish_control(GenerationManager::kStopTopic, "not a number");
  bus_->publish_control(GenerationManager::kStopTopic, std::to_string(turn->generation.id + 1000));
  settle();
  EXPECT_TRUE(gm_->running(chat.chat.id).has_value());
  bus_->publish_control(GenerationManager::kStopTopic, std::to_string(turn->generation.id));
  ASSERT_TRUE(wait_idle(chat.chat.id));
  EXPECT_EQ(generation(turn->generation.id).status, "stopped");
  EXPECT_EQ(message(turn->reply.id).content, "x");
}

}  // namespace
}  // namespace troupe::chat::testing
