#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>
#include <thread>
#include <vector>

#include "SyncTestUtil.h"
#include "sync/InProcessBus.h"

namespace troupe::sync::testing {
namespace {

namespace asio = boost::asio;

InProcessBusOptions small_options() {
  InProcessBusOptions o;
  o.replay_events = 8;
  o.subscriber_queue = 64;
  o.seq_block = 100;
  o.max_idle_streams = 64;
  return o;
}

EventPtr publish_ok(InProcessBus& bus, std::int64_t chat, std::string_view type = "token",
                    std::string_view fields = "") {
  auto r = bus.publish(chat, type, fields);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

std::shared_ptr<Subscription> subscribe_ok(InProcessBus& bus, asio::io_context& io,
                                           std::int64_t chat, std::int64_t after) {
  auto r = bus.subscribe(io.get_executor(), chat, after);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

std::vector<std::int64_t> seqs(const std::vector<EventPtr>& evs) {
  std::vector<std::int64_t> out;
  for (auto& e : evs) out.push_back(e->seq);
  return out;
}

class InProcessBusTest : public ::testing::Test {
 protected:
  FakeSeqAllocator alloc_;
  asio::io_context io_;
};

TEST_F(InProcessBusTest, EventJsonCarriesTypeChatAndSeq) {
  InProcessBus bus(alloc_, small_options());
  auto a = publish_ok(bus, 7, "token", R"("text":"hi")");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->chat_id, 7);
  EXPECT_EQ(a->seq, 1);
  EXPECT_EQ(a->type, "token");
  EXPECT_EQ(a->json, R"({"type":"token","chat_id":7,"seq":1,"text":"hi"})");
  auto b = publish_ok(bus, 7, "chat.updated", "");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->json, R"({"type":"chat.updated","chat_id":7,"seq":2})");
}

TEST_F(InProcessBusTest, LiveEventsCarryTheirPublishTimeAndReplaysAreNotLive) {
  InProcessBus bus(alloc_, small_options());
  auto old = publish_ok(bus, 3, "token", R"("text":"old")");
  ASSERT_TRUE(old);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto sub = subscribe_ok(bus, io_, 3, 0);  // replays `old`
  const std::int64_t before = wall_clock_us();
  auto fresh = publish_ok(bus, 3, "token", R"("text":"new")");
  ASSERT_TRUE(fresh);
  EXPECT_GE(fresh->published_us, before);
  EXPECT_LE(fresh->published_us, wall_clock_us());
  auto first = sub->try_next();
  auto second = sub->try_next();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->seq, old->seq);
  EXPECT_FALSE(sub->is_live(*first)) << "published before the subscription: a replay";
  EXPECT_TRUE(sub->is_live(*second));
}

TEST_F(InProcessBusTest, SeqStrictlyIncreasingAndIndependentPerChat) {
  InProcessBus bus(alloc_, small_options());
  std::int64_t prev1 = 0, prev2 = 0;
  for (int i = 0; i < 20; ++i) {
    auto a = publish_ok(bus, 1);
    auto b = publish_ok(bus, 2);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->seq, prev1 + 1);
    EXPECT_EQ(b->seq, prev2 + 1);
    prev1 = a->seq;
    prev2 = b->seq;
  }
  EXPECT_EQ(bus.last_seq(1), 20);
  EXPECT_EQ(bus.last_seq(2), 20);
  EXPECT_EQ(bus.last_seq(3), -1);  // never used: not prepared here
  ASSERT_TRUE(bus.prepare(3).ok());
  EXPECT_EQ(bus.last_seq(3), 0);  // prepared, no event yet: the first one will be 1
}

TEST_F(InProcessBusTest, SeqStartsAboveReservedMark) {
  // A previous process reserved up to 500: nothing at or below 500 may be handed out again.
  alloc_.set_high(9, 500);
  InProcessBus bus(alloc_, small_options());
  ASSERT_TRUE(bus.prepare(9).ok());
  EXPECT_EQ(alloc_.high(9), 600);
  EXPECT_EQ(bus.last_seq(9), 500);
  auto ev = publish_ok(bus, 9);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->seq, 501);
}

TEST_F(InProcessBusTest, PrepareIsCheapOnceDone) {
  InProcessBus bus(alloc_, small_options());
  ASSERT_TRUE(bus.prepare(4).ok());
  ASSERT_TRUE(bus.prepare(4).ok());
  publish_ok(bus, 4);
  ASSERT_TRUE(bus.prepare(4).ok());
  EXPECT_EQ(alloc_.calls(4), 1u);
}

TEST_F(InProcessBusTest, ANewChatsStreamAdoptsTheBlockStoredWithTheChat) {
  InProcessBus bus(alloc_, small_options());
  EXPECT_EQ(bus.creation_block(), 100);
  // The store created chat 6 with seq_reserved = 100 in the chat's own write.
  alloc_.set_high(6, 100);
  bus.adopt_new_chat(6, 100);
  EXPECT_TRUE(bus.ready(6, 100));
  EXPECT_EQ(bus.last_seq(6), 0);  // resume cursor of a chat with no event yet
  ASSERT_TRUE(bus.prepare(6).ok());
  auto sub = subscribe_ok(bus, io_, 6, 0);
  std::vector<std::int64_t> got;
  for (int i = 0; i < 100; ++i) {
    publish_ok(bus, 6);
    for (auto q : seqs(drain(*sub))) got.push_back(q);
  }
  EXPECT_EQ(alloc_.calls(6), 0u);  // no store write of its own for the whole first block
  auto next = publish_ok(bus, 6);  // the 101st reserves the next block as usual
  ASSERT_TRUE(next);
  EXPECT_EQ(next->seq, 101);
  EXPECT_EQ(alloc_.calls(6), 1u);
  EXPECT_EQ(alloc_.high(6), 200);
  for (auto q : seqs(drain(*sub))) got.push_back(q);
  ASSERT_EQ(got.size(), 101u);
  EXPECT_EQ(got.front(), 1);
  EXPECT_EQ(got.back(), 101);
}

TEST_F(InProcessBusTest, AdoptingLeavesAPreparedStreamAlone) {
  InProcessBus bus(alloc_, small_options());
  publish_ok(bus, 8);
  publish_ok(bus, 8);
  bus.adopt_new_chat(8, 100);  // a late or repeated adoption must not rewind the numbering
  EXPECT_EQ(publish_ok(bus, 8)->seq, 3);
  bus.adopt_new_chat(9, 0);  // nothing reserved with the chat: the stream stays unprepared
  EXPECT_FALSE(bus.ready(9, 1));
  EXPECT_EQ(bus.last_seq(9), -1);
}

TEST_F(InProcessBusTest, AnAdoptedStreamForgottenBeforeUseRestartsAboveTheStoredMark) {
  auto o = small_options();
  o.max_idle_streams = 2;
  InProcessBus bus(alloc_, o);
  alloc_.set_high(1, 100);
  bus.adopt_new_chat(1, 100);
  for (int chat = 2; chat <= 20; ++chat) publish_ok(bus, chat);  // chat 1 is pruned unused
  EXPECT_EQ(bus.last_seq(1), -1);
  // Its cursor is now the stored mark (100); numbering continues above it, never reusing 1..100.
  EXPECT_EQ(publish_ok(bus, 1)->seq, 101);
}

TEST_F(InProcessBusTest, ReservesAnotherBlockWhenExhausted) {
  auto o = small_options();
  o.seq_block = 4;
  InProcessBus bus(alloc_, o);
  std::vector<std::int64_t> got;
  for (int i = 0; i < 10; ++i) {
    auto ev = publish_ok(bus, 3);
    ASSERT_TRUE(ev);
    got.push_back(ev->seq);
    // The durable mark is always at or above every seq handed out.
    EXPECT_GE(alloc_.high(3), ev->seq);
  }
  std::vector<std::int64_t> want{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(got, want);
  EXPECT_EQ(alloc_.calls(3), 3u);  // marks 4, 8, 12
  EXPECT_EQ(alloc_.high(3), 12);
}

TEST_F(InProcessBusTest, ANextBlockNotAdjacentToTheLastContinuesFromItsOwnStart) {
  // Someone else (another stream of the chat, another process) reserved numbers in between: the
  // stream must not hand out numbers from inside their block.
  auto o = small_options();
  o.seq_block = 4;
  InProcessBus bus(alloc_, o);
  std::vector<std::int64_t> got;
  for (int i = 0; i < 4; ++i) got.push_back(publish_ok(bus, 5)->seq);
  alloc_.set_high(5, 96);  // numbers 5..96 now belong to someone else
  for (int i = 0; i < 3; ++i) got.push_back(publish_ok(bus, 5)->seq);
  std::vector<std::int64_t> want{1, 2, 3, 4, 97, 98, 99};
  EXPECT_EQ(got, want);
  EXPECT_EQ(alloc_.high(5), 100);
}

TEST_F(InProcessBusTest, AllocatorFailureIsReturned) {
  alloc_.set_fail(true);
  InProcessBus bus(alloc_, small_options());
  EXPECT_FALSE(bus.prepare(1).ok());
  EXPECT_EQ(bus.last_seq(1), -1);
  auto p = bus.publish(1, "token", "");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, Errc::unavailable);
  auto s = bus.subscribe(io_.get_executor(), 1, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::unavailable);
  // Recovers once the allocator does.
  alloc_.set_fail(false);
  auto ev = publish_ok(bus, 1);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->seq, 1);
}

TEST_F(InProcessBusTest, ExhaustedBlockWithFailingAllocatorRefusesToPublish) {
  auto o = small_options();
  o.seq_block = 2;
  InProcessBus bus(alloc_, o);
  publish_ok(bus, 1);
  publish_ok(bus, 1);
  alloc_.set_fail(true);
  EXPECT_FALSE(bus.publish(1, "token", "").ok());
  EXPECT_EQ(bus.last_seq(1), 2);
  alloc_.set_fail(false);
  auto ev = publish_ok(bus, 1);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->seq, 3);
}

TEST_F(InProcessBusTest, ReplayReturnsExactlyTheMissingEvents) {
  InProcessBus bus(alloc_, small_options());
  for (int i = 0; i < 5; ++i) publish_ok(bus, 1);
  auto sub = subscribe_ok(bus, io_, 1, 2);
  ASSERT_TRUE(sub);
  EXPECT_EQ(seqs(drain(*sub)), (std::vector<std::int64_t>{3, 4, 5}));
  publish_ok(bus, 1);
  EXPECT_EQ(seqs(drain(*sub)), (std::vector<std::int64_t>{6}));
  EXPECT_EQ(sub->last_seq(), 6);

  auto all = subscribe_ok(bus, io_, 1, 0);
  EXPECT_EQ(seqs(drain(*all)), (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
  auto none = subscribe_ok(bus, io_, 1, 6);
  EXPECT_TRUE(drain(*none).empty());
  // A cursor from the future replays nothing and does not resync.
  auto ahead = subscribe_ok(bus, io_, 1, 60);
  EXPECT_TRUE(drain(*ahead).empty());
}

TEST_F(InProcessBusTest, ReplayOfANewChatIsEmpty) {
  InProcessBus bus(alloc_, small_options());
  auto sub = subscribe_ok(bus, io_, 5, 0);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->try_next(), nullptr);
  publish_ok(bus, 5);
  auto ev = sub->try_next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->seq, 1);
}

TEST_F(InProcessBusTest, ResyncWhenCursorIsOlderThanTheRing) {
  auto o = small_options();
  o.replay_events = 3;
  InProcessBus bus(alloc_, o);
  for (int i = 0; i < 6; ++i) publish_ok(bus, 1);  // ring holds 4, 5, 6

  auto edge = subscribe_ok(bus, io_, 1, 3);  // missing 4..6, all retained
  EXPECT_EQ(seqs(drain(*edge)), (std::vector<std::int64_t>{4, 5, 6}));

  auto old = subscribe_ok(bus, io_, 1, 2);  // 3 is gone
  auto evs = drain(*old);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]->type, "resync");
  EXPECT_EQ(evs[0]->seq, 6);
  EXPECT_EQ(evs[0]->json, R"({"type":"resync","chat_id":1,"seq":6})");
  // Then the live stream continues after the resync point.
  publish_ok(bus, 1);
  EXPECT_EQ(seqs(drain(*old)), (std::vector<std::int64_t>{7}));
}

TEST_F(InProcessBusTest, ResyncAfterRestartForCursorsOfThePreviousProcess) {
  alloc_.set_high(2, 100);  // the previous process reserved (and maybe used) up to 100
  InProcessBus bus(alloc_, small_options());
  auto old = subscribe_ok(bus, io_, 2, 42);
  auto evs = drain(*old);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]->type, "resync");
  EXPECT_EQ(evs[0]->seq, 100);
  // A client at the mark is up to date: no resync.
  auto current = subscribe_ok(bus, io_, 2, 100);
  EXPECT_TRUE(drain(*current).empty());
  publish_ok(bus, 2);
  EXPECT_EQ(seqs(drain(*current)), (std::vector<std::int64_t>{101}));
}

TEST_F(InProcessBusTest, SlowSubscriberOverflowsAndIsClosed) {
  auto o = small_options();
  o.subscriber_queue = 1;
  o.replay_events = 3;  // queue capacity = 1 + 3 + 1 = 5
  InProcessBus bus(alloc_, o);
  auto slow = subscribe_ok(bus, io_, 1, 0);
  auto fast = subscribe_ok(bus, io_, 1, 0);
  ASSERT_TRUE(slow && fast);
  for (int i = 0; i < 5; ++i) {
    publish_ok(bus, 1);
    ASSERT_TRUE(fast->try_next());
  }
  EXPECT_FALSE(slow->closed());
  EXPECT_FALSE(slow->overflowed());
  publish_ok(bus, 1);  // the sixth does not fit
  EXPECT_TRUE(slow->closed());
  EXPECT_TRUE(slow->overflowed());
  EXPECT_EQ(slow->last_seq(), 5);  // what it can resume from
  EXPECT_FALSE(fast->closed());
  EXPECT_FALSE(fast->overflowed());
  EXPECT_EQ(bus.subscriber_count(), 1u);
  EXPECT_EQ(run_awaitable(io_, slow->next()), nullptr);
  // Publishing goes on for the others.
  publish_ok(bus, 1);
  EXPECT_EQ(seqs(drain(*fast)), (std::vector<std::int64_t>{6, 7}));
  // The overflowed client resumes by seq from the ring (5, 6, 7 retained).
  auto again = subscribe_ok(bus, io_, 1, slow->last_seq());
  EXPECT_EQ(seqs(drain(*again)), (std::vector<std::int64_t>{6, 7}));
}

TEST_F(InProcessBusTest, ReplayDoesNotOverflowAFreshSubscriber) {
  auto o = small_options();
  o.subscriber_queue = 1;
  o.replay_events = 16;
  InProcessBus bus(alloc_, o);
  for (int i = 0; i < 40; ++i) publish_ok(bus, 1);
  auto sub = subscribe_ok(bus, io_, 1, 24);
  EXPECT_FALSE(sub->overflowed());
  publish_ok(bus, 1);
  auto evs = drain(*sub);
  ASSERT_EQ(evs.size(), 17u);
  EXPECT_EQ(evs.front()->seq, 25);
  EXPECT_EQ(evs.back()->seq, 41);
}

TEST_F(InProcessBusTest, DropChatClosesSubscribersAndForgetsTheStream) {
  InProcessBus bus(alloc_, small_options());
  auto a = subscribe_ok(bus, io_, 1, 0);
  auto b = subscribe_ok(bus, io_, 1, 0);
  auto other = subscribe_ok(bus, io_, 2, 0);
  publish_ok(bus, 1);
  EXPECT_EQ(bus.subscriber_count(), 3u);
  bus.drop_chat(1);
  EXPECT_TRUE(a->closed());
  EXPECT_TRUE(b->closed());
  EXPECT_FALSE(a->overflowed());
  EXPECT_FALSE(other->closed());
  EXPECT_EQ(bus.subscriber_count(), 1u);
  EXPECT_EQ(bus.last_seq(1), -1);
  EXPECT_EQ(run_awaitable(io_, a->next()), nullptr);
  bus.drop_chat(1);   // idempotent
  bus.drop_chat(99);  // unknown chat
  // A closed subscription receives nothing more.
  publish_ok(bus, 1);
  EXPECT_EQ(a->try_next(), nullptr);
}

TEST_F(InProcessBusTest, CloseAllClosesEverySubscription) {
  InProcessBus bus(alloc_, small_options());
  std::vector<std::shared_ptr<Subscription>> subs;
  for (int chat = 1; chat <= 3; ++chat) {
    subs.push_back(subscribe_ok(bus, io_, chat, 0));
    subs.push_back(subscribe_ok(bus, io_, chat, 0));
  }
  EXPECT_EQ(bus.subscriber_count(), 6u);
  bus.close_all();
  for (auto& s : subs) {
    EXPECT_TRUE(s->closed());
    EXPECT_FALSE(s->overflowed());
  }
  EXPECT_EQ(bus.subscriber_count(), 0u);
  // Streams survive close_all: numbering continues.
  EXPECT_EQ(bus.last_seq(1), 0);
  auto ev = publish_ok(bus, 1);
  EXPECT_EQ(ev->seq, 1);
}

TEST_F(InProcessBusTest, ReleasedSubscriptionsAreForgotten) {
  InProcessBus bus(alloc_, small_options());
  auto keep = subscribe_ok(bus, io_, 1, 0);
  {
    auto gone = subscribe_ok(bus, io_, 1, 0);
    EXPECT_EQ(bus.subscriber_count(), 2u);
  }
  EXPECT_EQ(bus.subscriber_count(), 1u);
  publish_ok(bus, 1);
  EXPECT_EQ(drain(*keep).size(), 1u);
}

TEST_F(InProcessBusTest, PruneDropsIdleStreamsButKeepsLiveOnes) {
  auto o = small_options();
  o.max_idle_streams = 4;
  InProcessBus bus(alloc_, o);
  auto sub = subscribe_ok(bus, io_, 1, 0);
  publish_ok(bus, 1);
  for (int chat = 2; chat <= 40; ++chat) publish_ok(bus, chat);
  // The stream with a live subscriber was never pruned: same numbering, one reservation,
  // and the subscriber still receives.
  EXPECT_EQ(bus.last_seq(1), 1);
  EXPECT_EQ(alloc_.calls(1), 1u);
  auto ev = publish_ok(bus, 1);
  EXPECT_EQ(ev->seq, 2);
  EXPECT_EQ(seqs(drain(*sub)), (std::vector<std::int64_t>{1, 2}));
  // The oldest idle streams were forgotten; the newest is still known.
  EXPECT_EQ(bus.last_seq(2), -1);
  EXPECT_EQ(bus.last_seq(40), 1);
  // A forgotten stream restarts above its reserved mark (old cursors get a resync).
  auto again = publish_ok(bus, 2);
  EXPECT_EQ(again->seq, 101);
  auto old = subscribe_ok(bus, io_, 2, 1);
  auto evs = drain(*old);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0]->type, "resync");
}

TEST_F(InProcessBusTest, APublisherRunSurvivesItsStreamBeingDroppedMidway) {
  InProcessBus bus(alloc_, small_options());
  for (int i = 0; i < 3; ++i) publish_ok(bus, 1);  // a run: the thread reuses the stream
  bus.drop_chat(1);
  auto sub = subscribe_ok(bus, io_, 1, 0);
  auto ev = publish_ok(bus, 1);  // the same run goes on: it must reach the new stream
  ASSERT_NE(ev, nullptr);
  auto got = drain(*sub);  // (a resync first: the dropped stream's events are gone)
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back()->seq, ev->seq);
  EXPECT_EQ(got.back()->type, "token");
  EXPECT_EQ(bus.last_seq(1), ev->seq);
  // Many publishes in a run still keep the chat recently used (a touch every kTouchEvery).
  for (std::uint32_t i = 0; i < 3 * InProcessBus::kTouchEvery; ++i) publish_ok(bus, 1);
  EXPECT_EQ(bus.last_seq(1), ev->seq + 3 * InProcessBus::kTouchEvery);
}

TEST_F(InProcessBusTest, ReadyOnlyWhenPreparedWithHeadroom) {
  InProcessBus bus(alloc_, small_options());  // blocks of 100 numbers
  EXPECT_FALSE(bus.ready(1, 1));
  ASSERT_TRUE(bus.prepare(1).ok());
  EXPECT_TRUE(bus.ready(1, 100));
  EXPECT_FALSE(bus.ready(1, 101));
  for (int i = 0; i < 60; ++i) publish_ok(bus, 1);
  EXPECT_TRUE(bus.ready(1, 40));
  EXPECT_FALSE(bus.ready(1, 41));
  bus.drop_chat(1);
  EXPECT_FALSE(bus.ready(1, 1));
}

TEST_F(InProcessBusTest, PruneForgetsTheLeastRecentlyUsedIdleStreams) {
  auto o = small_options();
  o.max_idle_streams = 8;
  InProcessBus bus(alloc_, o);
  for (int chat = 1; chat <= 8; ++chat) publish_ok(bus, chat);
  for (int chat = 1; chat <= 8; ++chat) EXPECT_EQ(bus.last_seq(chat), 1) << chat;
  publish_ok(bus, 9);  // one over: the least recently used goes, nothing else
  EXPECT_EQ(bus.stream_count(), 8u);
  EXPECT_EQ(bus.last_seq(1), -1);
  for (int chat = 2; chat <= 9; ++chat) EXPECT_EQ(bus.last_seq(chat), 1) << chat;
  publish_ok(bus, 2);  // touched: now the most recent
  publish_ok(bus, 10);
  publish_ok(bus, 11);  // 3 and 4 are now the least recently used
  EXPECT_EQ(bus.last_seq(2), 2);
  EXPECT_EQ(bus.last_seq(3), -1);
  EXPECT_EQ(bus.last_seq(4), -1);
  EXPECT_EQ(bus.last_seq(5), 1);
  EXPECT_EQ(bus.stream_count(), 8u);
}

TEST_F(InProcessBusTest, RetainedEventsStayWithinTheirBudgetAndLiveStreamsKeepTheirs) {
  auto o = small_options();
  o.replay_events = 8;
  o.max_retained_events = 40;  // five full rings
  o.max_idle_streams = 1000;
  o.subscriber_queue = 4096;
  InProcessBus bus(alloc_, o);
  auto sub = subscribe_ok(bus, io_, 1, 0);
  for (int i = 0; i < 8; ++i) publish_ok(bus, 1);
  for (int chat = 2; chat <= 60; ++chat) {
    for (int i = 0; i < 8; ++i) publish_ok(bus, chat);
    // Pruning runs as events arrive, a few streams at a time: at most one ring over.
    EXPECT_LE(bus.retained_events(), o.max_retained_events + o.replay_events) << chat;
  }
  EXPECT_LE(bus.stream_count(), 7u);
  EXPECT_EQ(bus.last_seq(2), -1);  // idle and old: forgotten
  EXPECT_EQ(bus.last_seq(60), 8);
  // The chat with a live subscriber kept its stream and its replay window.
  EXPECT_EQ(bus.last_seq(1), 8);
  auto late = subscribe_ok(bus, io_, 1, 0);
  EXPECT_EQ(drain(*late).size(), 8u);
  EXPECT_EQ(drain(*sub).size(), 8u);
  // Forgetting a chat gives its events back to the budget.
  bus.drop_chat(60);
  EXPECT_LE(bus.retained_events(), o.max_retained_events);
  std::size_t held = 0;
  for (int chat = 1; chat <= 60; ++chat) held += bus.last_seq(chat) > 0 ? 8 : 0;
  EXPECT_EQ(bus.retained_events(), held);
}

TEST_F(InProcessBusTest, PruneTreatsClosedSubscribersAsIdle) {
  auto o = small_options();
  o.max_idle_streams = 2;
  InProcessBus bus(alloc_, o);
  auto sub = subscribe_ok(bus, io_, 1, 0);
  sub->close();
  for (int chat = 2; chat <= 10; ++chat) publish_ok(bus, chat);
  EXPECT_EQ(bus.last_seq(1), -1);  // pruned although a (closed) subscription object exists
}

TEST_F(InProcessBusTest, ConcurrentPublishersDeliverInSeqOrderWithoutGaps) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  auto o = small_options();
  o.seq_block = 64;  // several re-reservations under contention
  o.subscriber_queue = kThreads * kPerThread + 16;
  InProcessBus bus(alloc_, o);
  auto sub = subscribe_ok(bus, io_, 1, 0);
  ASSERT_TRUE(sub);

  std::vector<EventPtr> got;
  bool done = false;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        while (got.size() < static_cast<std::size_t>(kThreads * kPerThread)) {
          auto ev = co_await sub->next();
          if (!ev) break;
          got.push_back(std::move(ev));
        }
        done = true;
      },
      asio::detached);

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&bus, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto fields = "\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i);
        auto r = bus.publish(1, "token", fields);
        if (!r.ok()) ADD_FAILURE() << r.error().message;
      }
    });
  }
  EXPECT_TRUE(run_until(io_, [&] { return done; }));
  for (auto& th : threads) th.join();

  ASSERT_EQ(got.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::vector<int> next_i(kThreads, 0);
  for (std::size_t k = 0; k < got.size(); ++k) {
    ASSERT_EQ(got[k]->seq, static_cast<std::int64_t>(k + 1)) << "gap or reorder at " << k;
    // Each publisher's own events arrive in the order it published them.
    const auto& j = got[k]->json;
    auto tpos = j.find("\"t\":");
    auto ipos = j.find(",\"i\":");
    ASSERT_NE(tpos, std::string::npos);
    int t = std::stoi(j.substr(tpos + 4));
    int i = std::stoi(j.substr(ipos + 5));
    ASSERT_EQ(i, next_i[t]) << j;
    ++next_i[t];
  }
  EXPECT_FALSE(sub->overflowed());
  EXPECT_EQ(bus.last_seq(1), kThreads * kPerThread);
  EXPECT_GE(alloc_.high(1), kThreads * kPerThread);
}

TEST_F(InProcessBusTest, ConcurrentSubscribersAndPublishersAcrossChats) {
  auto o = small_options();
  o.seq_block = 16;
  o.max_idle_streams = 8;
  o.subscriber_queue = 4096;
  InProcessBus bus(alloc_, o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&bus, t, this] {
      for (int i = 0; i < 300; ++i) {
        const std::int64_t chat = 1 + (i + t) % 12;
        (void)bus.publish(chat, "token", "");
        if (i % 7 == 0) {
          auto s = bus.subscribe(io_.get_executor(), chat, 0);
          if (!s.ok()) ADD_FAILURE() << s.error().message;
        }
        if (i % 50 == 0) bus.drop_chat(chat);
        (void)bus.last_seq(chat);
        (void)bus.subscriber_count();
      }
    });
  }
  for (auto& th : threads) th.join();
  bus.close_all();
  EXPECT_EQ(bus.subscriber_count(), 0u);
}

TEST_F(InProcessBusTest, DestructionClosesSubscriptions) {
  std::shared_ptr<Subscription> sub;
  {
    InProcessBus bus(alloc_, small_options());
    sub = subscribe_ok(bus, io_, 1, 0);
  }
  EXPECT_TRUE(sub->closed());
}

TEST_F(InProcessBusTest, ControlMessagesReachHandlersOfTheirTopicOnly) {
  InProcessBus bus(alloc_, small_options());
  EXPECT_FALSE(bus.shared());
  std::vector<std::string> stops, others;
  auto a = bus.subscribe_control("stop", [&](const std::string& p) { stops.push_back(p); });
  auto b = bus.subscribe_control("other", [&](const std::string& p) { others.push_back(p); });
  bus.publish_control("stop", "7");
  bus.publish_control("nobody", "x");
  EXPECT_EQ(stops, std::vector<std::string>{"7"});
  EXPECT_TRUE(others.empty());
  bus.unsubscribe_control(a);
  bus.publish_control("stop", "8");
  bus.publish_control("other", "9");
  EXPECT_EQ(stops.size(), 1u);
  EXPECT_EQ(others, std::vector<std::string>{"9"});
  bus.unsubscribe_control(b);
  bus.unsubscribe_control(b);  // twice is harmless
}

TEST_F(InProcessBusTest, ControlHandlerMayUnsubscribeItself) {
  InProcessBus bus(alloc_, small_options());
  int calls = 0;
  std::uint64_t id = 0;
  id = bus.subscribe_control("t", [&](const std::string&) {
    ++calls;
    bus.unsubscribe_control(id);
  });
  bus.publish_control("t", "");
  bus.publish_control("t", "");
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace troupe::sync::testing
