#include <gtest/gtest.h>

#include "ApiTestUtil.h"

namespace troupe::api::testing {
namespace {

class WsProtocolTest : public ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    if (HasFatalFailure()) return;
    services_ = std::make_unique<Services>(
        Services{config_, *auth_, *characters_, *chats_, *turns_, ready_});
    ws_ = std::make_unique<WsProtocol>(*services_, alice_);
  }
  void TearDown() override {
    ws_.reset();
    services_.reset();
    ApiFixture::TearDown();
  }

  WsAction send(const std::string& frame, std::size_t subscribed = 0) {
    return await(ws_->on_text(frame, subscribed));
  }
  static json::object frame(const WsAction& a) { return json::parse(a.text).as_object(); }

  std::unique_ptr<Services> services_;
  std::unique_ptr<WsProtocol> ws_;
};

TEST_F(WsProtocolTest, Ping) {
  auto a = send(R"({"type":"ping"})");
  EXPECT_EQ(a.kind, WsAction::Kind::send);
  EXPECT_EQ(a.text, R"({"type":"pong"})");
  EXPECT_FALSE(a.subscription);
  // Extra members do not matter for ping.
  EXPECT_EQ(send(R"({"type":"ping","chat_id":"x"})").text, R"({"type":"pong"})");
}

TEST_F(WsProtocolTest, BadJson) {
  auto a = send(R"({"type":)");
  EXPECT_EQ(a.kind, WsAction::Kind::send);
  auto f = frame(a);
  EXPECT_EQ(f.at("type").as_string(), "error");
  EXPECT_EQ(f.at("code").as_string(), "invalid_json");
  EXPECT_NE(f.at("message").as_string().find("at byte"), json::string::npos);
  auto arr = frame(send("[1]"));
  EXPECT_EQ(arr.at("code").as_string(), "bad_request");
  auto empty = frame(send(""));
  EXPECT_EQ(empty.at("code").as_string(), "bad_request");
}

TEST_F(WsProtocolTest, MissingOrUnknownType) {
  auto none = frame(send(R"({"chat_id":1})"));
  EXPECT_EQ(none.at("type").as_string(), "error");
  EXPECT_EQ(none.at("code").as_string(), "bad_request");
  EXPECT_EQ(none.at("message").as_string(), "field 'type' is required");
  auto wrong = frame(send(R"({"type":5})"));
  EXPECT_EQ(wrong.at("code").as_string(), "bad_request");
  auto unknown = frame(send(R"({"type":"publish","chat_id":1})"));
  EXPECT_EQ(unknown.at("code").as_string(), "bad_request");
  EXPECT_EQ(unknown.at("message").as_string(), "unknown message type 'publish'");
  auto unknown_no_chat = frame(send(R"({"type":"hello"})"));
  EXPECT_EQ(unknown_no_chat.at("message").as_string(), "unknown message type 'hello'");
}

TEST_F(WsProtocolTest, SubscribeNeedsAChatId) {
  for (const char* f : {R"({"type":"subscribe"})", R"({"type":"subscribe","chat_id":null})",
                        R"({"type":"subscribe","chat_id":"1"})",
                        R"({"type":"subscribe","chat_id":1.5})",
                        R"({"type":"unsubscribe"})"}) {
    auto a = send(f);
    EXPECT_EQ(a.kind, WsAction::Kind::send) << f;
    EXPECT_FALSE(a.subscription) << f;
    auto o = frame(a);
    EXPECT_EQ(o.at("type").as_string(), "error") << f;
    EXPECT_EQ(o.at("code").as_string(), "bad_request") << f;
  }
  EXPECT_EQ(bus_->subscriber_count(), 0u);
}

TEST_F(WsProtocolTest, SubscribeAndUnsubscribe) {
  auto chat = new_chat(alice_, aria_.id);
  auto a = send(R"({"type":"subscribe","chat_id":)" + std::to_string(chat.chat.id) +
                R"(,"after_seq":0})");
  EXPECT_EQ(a.kind, WsAction::Kind::subscribe);
  EXPECT_EQ(a.chat_id, chat.chat.id);
  ASSERT_TRUE(a.subscription);
  EXPECT_EQ(a.subscription->chat_id(), chat.chat.id);
  auto ack = frame(a);
  EXPECT_EQ(ack.at("type").as_string(), "subscribed");
  EXPECT_EQ(ack.at("chat_id").as_int64(), chat.chat.id);
  EXPECT_EQ(bus_->subscriber_count(), 1u);

  auto u = send(R"({"type":"unsubscribe","chat_id":)" + std::to_string(chat.chat.id) + "}");
  EXPECT_EQ(u.kind, WsAction::Kind::unsubscribe);
  EXPECT_EQ(u.chat_id, chat.chat.id);
  EXPECT_EQ(frame(u).at("type").as_string(), "unsubscribed");
}

TEST_F(WsProtocolTest, SubscribeReplaysFromAfterSeqOrStartsNow) {
  auto chat = new_chat(alice_, aria_.id);
  ASSERT_OK(await(turns_->post_message(alice_, chat.chat.id, "hi", "")));
  ASSERT_TRUE(wait_idle(chat.chat.id));
  const auto id = std::to_string(chat.chat.id);
  auto replay = send(R"({"type":"subscribe","chat_id":)" + id + R"(,"after_seq":0})");
  ASSERT_TRUE(replay.subscription);
  auto evs = drain(*replay.subscription);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.front().seq, 1);
  EXPECT_EQ(evs.back().type, "generation.finished");

  auto now = send(R"({"type":"subscribe","chat_id":)" + id + "}");
  ASSERT_TRUE(now.subscription);
  EXPECT_EQ(now.subscription->try_next(), nullptr);
}

TEST_F(WsProtocolTest, AfterSeqMustBeANonNegativeInteger) {
  auto chat = new_chat(alice_, aria_.id);
  const auto id = std::to_string(chat.chat.id);
  for (const char* after : {"-1", "\"5\"", "1.5", "true"}) {
    auto a = send(R"({"type":"subscribe","chat_id":)" + id + R"(,"after_seq":)" + after + "}");
    EXPECT_FALSE(a.subscription) << after;
    auto o = frame(a);
    EXPECT_EQ(o.at("code").as_string(), "bad_request") << after;
    EXPECT_EQ(o.at("message").as_string(), "after_seq must be a non-negative integer");
  }
}

TEST_F(WsProtocolTest, AnotherUsersChatIsNotFound) {
  auto bob_char = make_character(bob_.id, "Bram");
  auto chat = new_chat(bob_, bob_char.id);
  for (const std::string& f :
       {R"({"type":"subscribe","chat_id":)" + std::to_string(chat.chat.id) + R"(,"after_seq":0})",
        R"({"type":"subscribe","chat_id":)" + std::to_string(chat.chat.id) + "}",
        std::string(R"({"type":"subscribe","chat_id":99999,"after_seq":0})")}) {
    auto a = send(f);
    EXPECT_EQ(a.kind, WsAction::Kind::send) << f;
    EXPECT_FALSE(a.subscription) << f;
    auto o = frame(a);
    EXPECT_EQ(o.at("type").as_string(), "error");
    EXPECT_EQ(o.at("code").as_string(), "not_found") << f;
  }
  EXPECT_EQ(bus_->subscriber_count(), 0u);
}

TEST_F(WsProtocolTest, TooManySubscriptions) {
  auto chat = new_chat(alice_, aria_.id);
  const std::string f = R"({"type":"subscribe","chat_id":)" + std::to_string(chat.chat.id) +
                        R"(,"after_seq":0})";
  auto ok = send(f, 31);
  EXPECT_EQ(ok.kind, WsAction::Kind::subscribe);
  auto full = send(f, 32);
  EXPECT_EQ(full.kind, WsAction::Kind::send);
  EXPECT_FALSE(full.subscription);
  auto o = frame(full);
  EXPECT_EQ(o.at("code").as_string(), "too_many_subscriptions");
  // Unsubscribing and pinging still work at the limit.
  EXPECT_EQ(send(R"({"type":"ping"})", 32).text, R"({"type":"pong"})");
  EXPECT_EQ(send(R"({"type":"unsubscribe","chat_id":1})", 32).kind, WsAction::Kind::unsubscribe);
}

TEST(WsProtocolStatic, ErrorFrame) {
  auto f = json::parse(WsProtocol::error_frame("x_code", "with \"quotes\"")).as_object();
  EXPECT_EQ(f.at("type").as_string(), "error");
  EXPECT_EQ(f.at("code").as_string(), "x_code");
  EXPECT_EQ(f.at("message").as_string(), "with \"quotes\"");
}

}  // namespace
}  // namespace troupe::api::testing
