#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "ChatTestUtil.h"
#include "chat/TokenEvents.h"
#include "sync/InProcessBus.h"
#include "../sync/SyncTestUtil.h"

namespace troupe::chat::testing {
namespace {

class Seqs final : public sync::SeqAllocator {
 public:
  Result<std::int64_t> reserve(std::int64_t chat_id, std::int64_t count) override {
    std::lock_guard lock(mu_);
    return high_[chat_id] += count;
  }

 private:
  std::mutex mu_;
  std::map<std::int64_t, std::int64_t> high_;
};

// Counts the batches a run is published in, passing everything on to a real bus.
class CountingBus final : public sync::EventBus {
 public:
  CountingBus(sync::SeqAllocator& seqs, sync::InProcessBusOptions opts) : real_(seqs, opts) {}
  Status publish_batch(std::int64_t chat_id, const sync::EventBatch& batch) override {
    ++batches;
    largest = std::max(largest, batch.size());
    return real_.publish_batch(chat_id, batch);
  }
  Status prepare(std::int64_t chat_id) override { return real_.prepare(chat_id); }
  Result<sync::EventPtr> publish(std::int64_t chat_id, std::string_view type,
                                 std::string_view fields) override {
    return real_.publish(chat_id, type, fields);
  }
  Result<std::shared_ptr<sync::Subscription>> subscribe(boost::asio::any_io_executor ex,
                                                        std::int64_t chat_id,
                                                        std::int64_t after_seq) override {
    return real_.subscribe(std::move(ex), chat_id, after_seq);
  }
  std::int64_t last_seq(std::int64_t chat_id) override { return real_.last_seq(chat_id); }
  void drop_chat(std::int64_t chat_id) override { real_.drop_chat(chat_id); }
  void close_all() override { real_.close_all(); }
  std::size_t subscriber_count() const override { return real_.subscriber_count(); }
  std::uint64_t subscribe_control(const std::string& topic, ControlHandler h) override {
    return real_.subscribe_control(topic, std::move(h));
  }
  void unsubscribe_control(std::uint64_t id) override { real_.unsubscribe_control(id); }
  void publish_control(const std::string& topic, std::string payload) override {
    real_.publish_control(topic, std::move(payload));
  }
  bool shared() const override { return false; }

  int batches = 0;
  std::size_t largest = 0;

 private:
  sync::InProcessBus real_;
};

TEST(TokenEvents, ARunLongerThanABatchGoesOutWholeAndInOrder) {
  Seqs seqs;
  sync::InProcessBusOptions opts;
  opts.subscriber_queue = 20'000;
  CountingBus bus(seqs, opts);
  boost::asio::io_context io;
  auto sub = bus.subscribe(io.get_executor(), 3, 0);
  ASSERT_TRUE(sub.ok());
  TestFormatter fmt;

  // 10,000 pieces, more than one batch may hold, after an event already in the batch.
  std::string text;
  std::vector<std::size_t> ends;
  for (int i = 0; i < 10'000; ++i) {
    text += "w" + std::to_string(i) + " ";
    ends.push_back(text.size());
  }
  sync::EventBatch batch;
  batch.add("generation.started") += "\"x\":1";
  ASSERT_TRUE(publish_token_events(bus, 3, batch, fmt, 7, 8, text, 0, ends).ok());
  EXPECT_TRUE(batch.empty());
  EXPECT_GE(bus.batches, 3);
  EXPECT_LE(bus.largest, sync::EventBatch::kMaxEvents);

  std::vector<sync::EventPtr> items;
  while ((*sub)->try_take(items, 1'000'000) > 0) {
  }
  // The tokens went out as runs (see sync::Event): far fewer items than events.
  EXPECT_LT(items.size(), 10'001u / 4);
  std::vector<sync::EventPtr> got = sync::testing::expand(items);
  ASSERT_EQ(got.size(), 10'001u);
  EXPECT_EQ(got[0]->type, "generation.started");
  for (std::size_t i = 1; i < got.size(); ++i) {
    ASSERT_EQ(got[i]->seq, static_cast<std::int64_t>(i + 1));
    ASSERT_EQ(got[i]->type, "token");
    const std::string want = "\"text\":\"w" + std::to_string(i - 1) + " \"";
    ASSERT_NE(got[i]->json.find(want), std::string::npos) << got[i]->json;
  }
}

TEST(TokenEvents, AnEmptyRunPublishesWhatTheBatchHolds) {
  Seqs seqs;
  CountingBus bus(seqs, {});
  TestFormatter fmt;
  sync::EventBatch batch;
  batch.add("message.created") += "\"a\":1";
  ASSERT_TRUE(publish_token_events(bus, 4, batch, fmt, 1, 2, "", 0, {}).ok());
  EXPECT_EQ(bus.batches, 1);
  EXPECT_EQ(bus.last_seq(4), 1);
  // Nothing at all: nothing published.
  ASSERT_TRUE(publish_token_events(bus, 4, batch, fmt, 1, 2, "", 0, {}).ok());
  EXPECT_EQ(bus.batches, 1);
}

}  // namespace
}  // namespace troupe::chat::testing
