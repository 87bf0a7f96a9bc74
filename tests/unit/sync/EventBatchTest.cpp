#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <string>
#include <thread>
#include <vector>

#include "SyncTestUtil.h"
#include "sync/EventBatch.h"
#include "sync/InProcessBus.h"

namespace troupe::sync::testing {
namespace {

namespace asio = boost::asio;

InProcessBusOptions batch_options() {
  InProcessBusOptions o;
  o.replay_events = 16;
  o.subscriber_queue = 32;
  o.seq_block = 10;  // small: a batch crosses reservations
  o.max_idle_streams = 64;
  return o;
}

void fill(EventBatch& b, int n, const std::string& tag) {
  for (int i = 0; i < n; ++i) b.add("token") += "\"text\":\"" + tag + std::to_string(i) + "\"";
}

TEST(EventBatch, KeepsTypesAndMembersApart) {
  EventBatch b;
  EXPECT_TRUE(b.empty());
  b.add("message.created") += "\"a\":1";
  b.add("token");  // no members
  b.add("generation.finished") += "\"b\":\"x\"";
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.type(0), "message.created");
  EXPECT_EQ(b.fields(0), "\"a\":1");
  EXPECT_EQ(b.type(1), "token");
  EXPECT_EQ(b.fields(1), "");
  EXPECT_EQ(b.type(2), "generation.finished");
  EXPECT_EQ(b.fields(2), "\"b\":\"x\"");
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.bytes(), 0u);
}

class EventBatchBusTest : public ::testing::Test {
 protected:
  FakeSeqAllocator alloc_;
  asio::io_context io_;
};

TEST_F(EventBatchBusTest, BatchGetsConsecutiveSeqsAcrossReservationsAndReachesSubscribers) {
  InProcessBus bus(alloc_, batch_options());
  auto sub = bus.subscribe(io_.get_executor(), 4, 0);
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(bus.publish(4, "chat.updated", "").ok());
  EventBatch b;
  fill(b, 12, "t");  // crosses the 10-number block
  ASSERT_TRUE(bus.publish_batch(4, b).ok());
  auto got = drain(**sub);
  ASSERT_EQ(got.size(), 13u);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i]->seq, static_cast<std::int64_t>(i + 1));
  EXPECT_EQ(got[1]->json, R"({"type":"token","chat_id":4,"seq":2,"text":"t0"})");
  EXPECT_EQ(got[12]->json, R"({"type":"token","chat_id":4,"seq":13,"text":"t11"})");
  EXPECT_EQ(bus.last_seq(4), 13);
  EXPECT_EQ((*sub)->last_seq(), 13);
  // The replay window holds the batch like single events: a late subscriber resumes inside it.
  auto late = bus.subscribe(io_.get_executor(), 4, 10);
  ASSERT_TRUE(late.ok());
  auto replay = drain(**late);
  ASSERT_EQ(replay.size(), 3u);
  EXPECT_EQ(replay.front()->seq, 11);
}

TEST_F(EventBatchBusTest, EventsOfOneTypeInARowBecomeOneRun) {
  auto opts = batch_options();
  opts.seq_block = 1000;
  opts.replay_events = 100;
  InProcessBus bus(alloc_, opts);
  auto sub = bus.subscribe(io_.get_executor(), 14, 0);
  ASSERT_TRUE(sub.ok());
  EventBatch b;
  b.add("generation.started") += "\"g\":1";
  fill(b, 5, "t");
  b.add("generation.finished") += "\"status\":\"completed\"";
  ASSERT_TRUE(bus.publish_batch(14, b).ok());
  auto items = drain_items(**sub);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0]->count, 1u);
  EXPECT_EQ(items[1]->type, "token");
  EXPECT_EQ(items[1]->seq, 2);
  EXPECT_EQ(items[1]->count, 5u);
  EXPECT_EQ(items[1]->last_seq(), 6);
  EXPECT_EQ(items[2]->seq, 7);
  EXPECT_EQ((*sub)->last_seq(), 7);
  // Its events are the same as if published one by one.
  std::vector<std::string> parts;
  items[1]->parts([&](std::int64_t seq, std::string_view json) {
    EXPECT_EQ(json, R"({"type":"token","chat_id":14,"seq":)" + std::to_string(seq) + R"(,"text":"t)" +
                        std::to_string(seq - 2) + "\"}");
    parts.emplace_back(json);
  });
  EXPECT_EQ(parts.size(), 5u);
  EXPECT_EQ(bus.retained_events(), 7u);  // the replay window counts events, not items
}

TEST_F(EventBatchBusTest, RunsStayWithinTheirBounds) {
  auto opts = batch_options();
  opts.seq_block = 100000;
  opts.replay_events = 100000;
  opts.subscriber_queue = 100000;
  InProcessBus bus(alloc_, opts);
  auto sub = bus.subscribe(io_.get_executor(), 15, 0);
  ASSERT_TRUE(sub.ok());
  EventBatch b;
  for (int i = 0; i < 1000; ++i) b.add("token") += "\"t\":1";  // small: the count bounds a run
  ASSERT_TRUE(bus.publish_batch(15, b).ok());
  auto items = drain_items(**sub);
  ASSERT_EQ(items.size(), (1000 + InProcessBus::kRunEvents - 1) / InProcessBus::kRunEvents);
  for (const auto& e : items) EXPECT_LE(e->count, InProcessBus::kRunEvents);
  b.clear();
  const std::string big(1000, 'x');
  for (int i = 0; i < 20; ++i) b.add("token") += "\"t\":\"" + big + "\"";  // large: bytes bound it
  ASSERT_TRUE(bus.publish_batch(15, b).ok());
  items = drain_items(**sub);
  EXPECT_GE(items.size(), 5u);
  std::size_t events = 0;
  for (const auto& e : items) {
    EXPECT_LE(e->json.size(), InProcessBus::kRunBytes);
    events += e->count;
  }
  EXPECT_EQ(events, 20u);
  EXPECT_EQ(bus.last_seq(15), 1020);
}

TEST_F(EventBatchBusTest, ARunEndsWhereTheNumbersJump) {
  // Another holder reserved numbers meanwhile: the batch continues after them, in a new run, so
  // a run's numbers are always consecutive.
  InProcessBus bus(alloc_, batch_options());  // blocks of 10
  auto sub = bus.subscribe(io_.get_executor(), 16, 0);  // reserves (0, 10]
  ASSERT_TRUE(sub.ok());
  alloc_.set_high(16, 30);  // someone else took (10, 30]
  EventBatch b;
  fill(b, 14, "j");
  ASSERT_TRUE(bus.publish_batch(16, b).ok());
  auto items = drain_items(**sub);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]->seq, 1);
  EXPECT_EQ(items[0]->count, 10u);
  EXPECT_EQ(items[1]->seq, 31);
  EXPECT_EQ(items[1]->count, 4u);
}

TEST_F(EventBatchBusTest, ResumingInsideARunGetsItsRestAsARun) {
  auto opts = batch_options();
  opts.seq_block = 1000;
  opts.replay_events = 100;
  InProcessBus bus(alloc_, opts);
  EventBatch b;
  fill(b, 8, "r");
  ASSERT_TRUE(bus.publish_batch(17, b).ok());  // 1..8, one run
  ASSERT_TRUE(bus.publish(17, "chat.updated", "").ok());  // 9
  auto late = bus.subscribe(io_.get_executor(), 17, 5);
  ASSERT_TRUE(late.ok());
  auto items = drain_items(**late);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0]->seq, 6);
  EXPECT_EQ(items[0]->count, 3u);
  auto evs = expand(items);
  ASSERT_EQ(evs.size(), 4u);
  EXPECT_EQ(evs[0]->json, R"({"type":"token","chat_id":17,"seq":6,"text":"r5"})");
  EXPECT_EQ(evs[2]->json, R"({"type":"token","chat_id":17,"seq":8,"text":"r7"})");
  EXPECT_EQ(evs[3]->seq, 9);
  // At the run's last event, or past it: nothing of it.
  auto at_end = bus.subscribe(io_.get_executor(), 17, 8);
  ASSERT_TRUE(at_end.ok());
  items = drain_items(**at_end);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]->seq, 9);
}

TEST_F(EventBatchBusTest, EmptyBatchPublishesNothing) {
  InProcessBus bus(alloc_, batch_options());
  EventBatch b;
  ASSERT_TRUE(bus.publish_batch(5, b).ok());
  EXPECT_EQ(alloc_.calls(5), 0u);
}

TEST_F(EventBatchBusTest, BatchOverItsBoundsIsRefusedWhole) {
  InProcessBus bus(alloc_, batch_options());
  EventBatch b;
  fill(b, static_cast<int>(EventBatch::kMaxEvents) + 1, "x");
  auto st = bus.publish_batch(6, b);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Errc::bad_request);
  EXPECT_EQ(bus.last_seq(6), -1);  // nothing published, not even prepared
}

TEST_F(EventBatchBusTest, FailedReservationMidwayKeepsWhatWentOut) {
  InProcessBus bus(alloc_, batch_options());
  auto sub = bus.subscribe(io_.get_executor(), 8, 0);  // reserves (0, 10]
  ASSERT_TRUE(sub.ok());
  alloc_.set_fail(true);
  EventBatch b;
  fill(b, 15, "f");
  auto st = bus.publish_batch(8, b);
  EXPECT_FALSE(st.ok());
  auto got = drain(**sub);
  ASSERT_EQ(got.size(), 10u);  // the reserved numbers were used, in order
  EXPECT_EQ(got.back()->seq, 10);
  alloc_.set_fail(false);
  b.clear();
  fill(b, 2, "g");
  ASSERT_TRUE(bus.publish_batch(8, b).ok());
  got = drain(**sub);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got.front()->seq, 11);
}

TEST_F(EventBatchBusTest, BatchThatDoesNotFitClosesTheSubscriberAsOverflowed) {
  InProcessBus bus(alloc_, batch_options());
  auto sub = bus.subscribe(io_.get_executor(), 9, 0);
  ASSERT_TRUE(sub.ok());
  EventBatch b;
  fill(b, 20, "a");
  ASSERT_TRUE(bus.publish_batch(9, b).ok());
  EXPECT_FALSE((*sub)->closed());
  // Capacity is subscriber_queue + replay_events + 1 = 49; 20 are queued, 30 more do not fit.
  b.clear();
  fill(b, 30, "b");
  ASSERT_TRUE(bus.publish_batch(9, b).ok());
  EXPECT_TRUE((*sub)->closed());
  EXPECT_TRUE((*sub)->overflowed());
  EXPECT_EQ(bus.last_seq(9), 50);  // the events themselves were published
}

TEST_F(EventBatchBusTest, ConcurrentBatchesAreNeverInterleaved) {
  auto opts = batch_options();
  opts.subscriber_queue = 1 << 16;
  opts.seq_block = 1000;
  InProcessBus bus(alloc_, opts);
  auto sub = bus.subscribe(io_.get_executor(), 11, 0);
  ASSERT_TRUE(sub.ok());
  constexpr int kThreads = 4, kBatches = 200, kPerBatch = 7;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&bus, t] {
      EventBatch b;
      for (int i = 0; i < kBatches; ++i) {
        b.clear();
        for (int k = 0; k < kPerBatch; ++k) {
          b.add("token") += "\"b\":\"" + std::to_string(t) + "-" + std::to_string(i) + "\"";
        }
        ASSERT_TRUE(bus.publish_batch(11, b).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto got = drain(**sub);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kThreads * kBatches * kPerBatch));
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i]->seq, static_cast<std::int64_t>(i + 1));
    // Each run of kPerBatch events comes from one batch.
    const auto tag = got[i - i % kPerBatch]->json.substr(got[i - i % kPerBatch]->json.find("\"b\""));
    EXPECT_EQ(got[i]->json.substr(got[i]->json.find("\"b\"")), tag) << "at " << i;
  }
}

TEST_F(EventBatchBusTest, TryTakeMovesQueuedEventsInOrderUpToTheLimit) {
  InProcessBus bus(alloc_, batch_options());
  auto sub = bus.subscribe(io_.get_executor(), 12, 0);
  ASSERT_TRUE(sub.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(bus.publish(12, "token", "").ok());
  std::vector<EventPtr> out;
  EXPECT_EQ((*sub)->try_take(out, 3), 3u);
  EXPECT_EQ((*sub)->try_take(out, 10), 2u);
  EXPECT_EQ((*sub)->try_take(out, 10), 0u);
  ASSERT_EQ(out.size(), 5u);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_EQ(out[i]->seq, static_cast<std::int64_t>(i + 1));
  (*sub)->close();
  EventBatch b;
  fill(b, 5, "k");
  ASSERT_TRUE(bus.publish_batch(12, b).ok());
  EXPECT_EQ((*sub)->try_take(out, 10), 0u);  // closed: nothing more
}

}  // namespace
}  // namespace troupe::sync::testing
