#include <gtest/gtest.h>

#include "ApiTestUtil.h"

namespace troupe::api::testing {
namespace {

class ApiTest : public ApiFixture {};

TEST_F(ApiTest, HealthzNeedsNoToken) {
  auto r = call(http::verb::get, "/healthz", "", "");
  EXPECT_EQ(r.res.result(), http::status::ok);
  EXPECT_EQ(body(r).at("status").as_string(), "ok");
  EXPECT_EQ(r.res[http::field::content_type], "application/json");
}

TEST_F(ApiTest, ReadyzFollowsTheReadyFlag) {
  auto r = call(http::verb::get, "/readyz", "", "");
  EXPECT_EQ(r.res.result(), http::status::ok);
  EXPECT_EQ(body(r).at("status").as_string(), "ready");
  ready_ = false;
  r = call(http::verb::get, "/readyz", "", "");
  EXPECT_EQ(r.res.result(), http::status::service_unavailable);
  EXPECT_EQ(body(r).at("status").as_string(), "not_ready");
}

TEST_F(ApiTest, ReadyzReportsADegradedBus) {
  std::string why = "bus degraded: redis degraded";
  api_->services().degraded_reason = [&why] { return why; };
  auto r = call(http::verb::get, "/readyz", "", "");
  EXPECT_EQ(r.res.result(), http::status::service_unavailable);
  EXPECT_EQ(body(r).at("ready").as_bool(), false);
  EXPECT_EQ(body(r).at("reason").as_string(), "bus degraded: redis degraded");
  why.clear();  // connected again
  r = call(http::verb::get, "/readyz", "", "");
  EXPECT_EQ(r.res.result(), http::status::ok);
  EXPECT_EQ(body(r).at("ready").as_bool(), true);
  EXPECT_EQ(body(r).at("status").as_string(), "ready");
}

TEST_F(ApiTest, UnknownRouteIs404WithErrorBody) {
  for (const char* target : {"/nope", "/api", "/api/chats/1/nothing", "/api/chats/abc",
                             "/api/chats/0", "/api/chats/-1", "/api/characters/1.5"}) {
    auto r = call(http::verb::get, target);
    EXPECT_EQ(r.res.result(), http::status::not_found) << target;
    EXPECT_EQ(error_code(r), "not_found") << target;
  }
  // Unknown routes answer 404 before asking for a token.
  auto r = call(http::verb::get, "/api/whatever", "", "");
  EXPECT_EQ(r.res.result(), http::status::not_found);
}

TEST_F(ApiTest, WrongMethodIs405WithAllow) {
  auto r = call(http::verb::patch, "/api/chats/5");
  EXPECT_EQ(r.res.result(), http::status::method_not_allowed);
  EXPECT_EQ(error_code(r), "method_not_allowed");
  EXPECT_EQ(r.res[http::field::allow], "GET, HEAD, DELETE");
  auto m = call(http::verb::get, "/api/messages/3");
  EXPECT_EQ(m.res.result(), http::status::method_not_allowed);
  EXPECT_EQ(m.res[http::field::allow], "PUT, DELETE");
  auto h = call(http::verb::post, "/healthz", "", "");
  EXPECT_EQ(h.res.result(), http::status::method_not_allowed);
  EXPECT_EQ(h.res[http::field::allow], "GET, HEAD");
  auto imp = call(http::verb::get, "/api/characters/import");
  EXPECT_EQ(imp.res.result(), http::status::method_not_allowed);
  EXPECT_EQ(imp.res[http::field::allow], "POST");
}

TEST_F(ApiTest, MissingOrUnknownTokenIs401) {
  for (const char* tok : {"", "token-nobody"}) {
    auto r = call(http::verb::get, "/api/chats", "", tok);
    EXPECT_EQ(r.res.result(), http::status::unauthorized) << tok;
    EXPECT_EQ(error_code(r), "unauthorized");
    EXPECT_EQ(r.res[http::field::www_authenticate], "Bearer");
  }
  auto basic = call(http::verb::get, "/api/chats", "", "",
                    {{"Authorization", "Basic YWxpY2U6eA=="}});
  EXPECT_EQ(basic.res.result(), http::status::unauthorized);
}

TEST_F(ApiTest, TokenByHeaderOrQuery) {
  auto r = call(http::verb::get, "/api/chats");
  EXPECT_EQ(r.res.result(), http::status::ok);
  EXPECT_TRUE(body(r).at("chats").as_array().empty());
  auto lower = call(http::verb::get, "/api/chats", "", "", {{"Authorization", "bearer token-alice"}});
  EXPECT_EQ(lower.res.result(), http::status::ok);
  auto q = call(http::verb::get, "/api/chats?access_token=token-alice", "", "");
  EXPECT_EQ(q.res.result(), http::status::ok);
  HttpRequest req{http::verb::get, "/ws?access_token=token-bob", 11};
  EXPECT_EQ(bearer_token(req), "token-bob");
  req.set(http::field::authorization, "Bearer token-alice");
  EXPECT_EQ(bearer_token(req), "token-alice");  // the header wins
}

TEST_F(ApiTest, MalformedTargetIs400) {
  auto r = call(http::verb::get, "no-slash");
  EXPECT_EQ(r.res.result(), http::status::bad_request);
  EXPECT_EQ(error_code(r), "bad_request");
}

TEST_F(ApiTest, VersionAndKeepAliveFollowTheRequest) {
  HttpRequest req{http::verb::get, "/nope", 10};
  req.keep_alive(false);
  auto r = await(api_->handle(req));
  EXPECT_EQ(r.res.version(), 10u);
  EXPECT_FALSE(r.res.keep_alive());
  EXPECT_EQ(r.res[http::field::content_length], std::to_string(r.res.body().size()));
}

TEST_F(ApiTest, InvalidJsonBodyHasPosition) {
  auto r = call(http::verb::post, "/api/characters", R"({"name": })");
  EXPECT_EQ(r.res.result(), http::status::bad_request);
  auto b = body(r);
  ASSERT_TRUE(b.contains("error"));
  const auto& e = b.at("error").as_object();
  EXPECT_EQ(e.at("code").as_string(), "invalid_json");
  EXPECT_EQ(e.at("position").as_int64(), 9);
  EXPECT_TRUE(e.at("message").is_string());
  auto arr = call(http::verb::post, "/api/characters", "[1]");
  EXPECT_EQ(arr.res.result(), http::status::bad_request);
  EXPECT_EQ(error_code(arr), "bad_request");
}

TEST_F(ApiTest, CharacterCreateGetAndOwnership) {
  auto r = call(http::verb::post, "/api/characters",
                R"({"name":"Bo","tags":["a"],"extensions":{"x":{"y":1}}})");
  ASSERT_EQ(r.res.result(), http::status::created) << r.res.body();
  auto c = body(r);
  EXPECT_EQ(c.at("name").as_string(), "Bo");
  EXPECT_EQ(c.at("extensions").at("x").at("y").as_int64(), 1);
  const auto id = c.at("id").as_int64();
  auto g = call(http::verb::get, "/api/characters/" + std::to_string(id));
  EXPECT_EQ(g.res.result(), http::status::ok);
  EXPECT_EQ(body(g).at("tags").at(0).as_string(), "a");
  auto other = call(http::verb::get, "/api/characters/" + std::to_string(id), "", token(bob_));
  EXPECT_EQ(other.res.result(), http::status::not_found);
  EXPECT_EQ(error_code(other), "not_found");
  auto unknown = call(http::verb::post, "/api/characters", R"({"name":"X","colour":"red"})");
  EXPECT_EQ(unknown.res.result(), http::status::bad_request);
  EXPECT_EQ(error_code(unknown), "bad_request");
  auto missing = call(http::verb::post, "/api/characters", R"({"description":"no name"})");
  EXPECT_EQ(missing.res.result(), http::status::bad_request);
}

TEST_F(ApiTest, ChatTurnOverRest) {
  auto created = call(http::verb::post, "/api/chats",
                      R"({"character_id":)" + std::to_string(aria_.id) + "}");
  ASSERT_EQ(created.res.result(), http::status::created) << created.res.body();
  auto chat = body(created);
  const auto chat_id = chat.at("id").as_int64();
  EXPECT_TRUE(chat.at("generation").is_null());
  EXPECT_EQ(chat.at("last_seq").as_int64(), 0);
  const std::string base = "/api/chats/" + std::to_string(chat_id);

  auto post = call(http::verb::post, base + "/messages", R"({"content":"hello"})", "token-alice",
                   {{"Idempotency-Key", "k1"}});
  ASSERT_EQ(post.res.result(), http::status::accepted) << post.res.body();
  auto turn = body(post);
  EXPECT_EQ(turn.at("message").at("content").as_string(), "hello");
  EXPECT_EQ(turn.at("reply").at("status").as_string(), "streaming");
  EXPECT_EQ(turn.at("generation").at("status").as_string(), "running");
  EXPECT_EQ(post.res["Idempotent-Replayed"], "");
  ASSERT_TRUE(wait_idle(chat_id));

  auto replay = call(http::verb::post, base + "/messages", R"({"content":"hello"})",
                     "token-alice", {{"Idempotency-Key", "k1"}});
  ASSERT_EQ(replay.res.result(), http::status::accepted);
  EXPECT_EQ(replay.res["Idempotent-Replayed"], "true");
  EXPECT_EQ(body(replay).at("message").at("id"), turn.at("message").at("id"));
  EXPECT_EQ(llm_.calls(), 1);

  auto gen_id = turn.at("generation").at("id").as_int64();
  auto g = call(http::verb::get, "/api/generations/" + std::to_string(gen_id));
  EXPECT_EQ(g.res.result(), http::status::ok);
  EXPECT_EQ(body(g).at("status").as_string(), "completed");

  auto msgs = call(http::verb::get, base + "/messages?limit=2");
  ASSERT_EQ(msgs.res.result(), http::status::ok);
  auto page = body(msgs);
  EXPECT_EQ(page.at("messages").as_array().size(), 2u);
  EXPECT_FALSE(page.at("next_before").is_null());
  auto bad_limit = call(http::verb::get, base + "/messages?limit=0");
  EXPECT_EQ(bad_limit.res.result(), http::status::bad_request);

  auto unknown_field = call(http::verb::post, base + "/messages", R"({"content":"x","role":"system"})");
  EXPECT_EQ(unknown_field.res.result(), http::status::bad_request);
  auto other = call(http::verb::post, base + "/messages", R"({"content":"x"})", token(bob_));
  EXPECT_EQ(other.res.result(), http::status::not_found);
}

TEST_F(ApiTest, ConflictWhileGenerating) {
  llm_.set_script(Script{{"a"}, std::chrono::milliseconds(0), 0});
  auto chat = new_chat(alice_, aria_.id);
  const std::string base = "/api/chats/" + std::to_string(chat.chat.id);
  auto first = call(http::verb::post, base + "/messages", R"({"content":"one"})");
  ASSERT_EQ(first.res.result(), http::status::accepted);
  ASSERT_TRUE(run_until([&] { return llm_.holding() == 1; }));
  auto second = call(http::verb::post, base + "/messages", R"({"content":"two"})");
  EXPECT_EQ(second.res.result(), http::status::conflict);
  EXPECT_EQ(error_code(second), "conflict");
  auto got = call(http::verb::get, base);
  EXPECT_EQ(body(got).at("generation").at("status").as_string(), "running");
  auto gen_id = body(first).at("generation").at("id").as_int64();
  auto stop = call(http::verb::post, "/api/generations/" + std::to_string(gen_id) + "/stop");
  EXPECT_EQ(stop.res.result(), http::status::accepted);
  ASSERT_TRUE(wait_idle(chat.chat.id));
  auto g = call(http::verb::get, "/api/generations/" + std::to_string(gen_id));
  EXPECT_EQ(body(g).at("status").as_string(), "stopped");
}

TEST_F(ApiTest, EventsRouteReturnsAnSseSubscription) {
  auto chat = new_chat(alice_, aria_.id);
  const std::string base = "/api/chats/" + std::to_string(chat.chat.id);
  auto r = call(http::verb::get, base + "/events?after_seq=0");
  EXPECT_EQ(r.res.result(), http::status::ok);
  EXPECT_EQ(r.res[http::field::content_type], "text/event-stream");
  ASSERT_TRUE(r.sse);
  EXPECT_EQ(r.sse->chat_id(), chat.chat.id);
  auto bad = call(http::verb::get, base + "/events?after_seq=-4");
  EXPECT_EQ(bad.res.result(), http::status::bad_request);
  EXPECT_FALSE(bad.sse);
  auto bad_id = call(http::verb::get, base + "/events", "", "token-alice", {{"Last-Event-ID", "x"}});
  EXPECT_EQ(bad_id.res.result(), http::status::bad_request);
  auto other = call(http::verb::get, base + "/events", "", token(bob_));
  EXPECT_EQ(other.res.result(), http::status::not_found);
  EXPECT_FALSE(other.sse);
  // Events published after subscribing arrive on the subscription, as the real JSON.
  ASSERT_EQ(call(http::verb::post, base + "/messages", R"({"content":"hi"})").res.result(),
            http::status::accepted);
  auto evs = collect_until(*r.sse, "generation.finished");
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.front().type, "message.created");
  EXPECT_EQ(evs.front().body.at("message").at("content").as_string(), "hi");
  EXPECT_TRUE(evs.front().body.at("message").at("parent_id").is_int64());
  EXPECT_EQ(evs.back().body.at("generation").at("status").as_string(), "completed");
  ASSERT_TRUE(wait_idle(chat.chat.id));
}

}  // namespace
}  // namespace troupe::api::testing
