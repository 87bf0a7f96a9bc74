#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "llm/OpenAiChunkDecoder.h"
#include "llm/OpenAiRequestBody.h"
#include "llm/UpstreamUrl.h"

namespace troupe::llm {
namespace {

SseEvent data(std::string d, std::string name = "message") {
  return SseEvent{std::move(name), std::move(d), ""};
}

TEST(OpenAiChunkDecoder, ContentDeltaDoneAndFinishReason) {
  OpenAiChunkDecoder d;
  auto r = d.decode(data(R"({"choices":[{"delta":{"role":"assistant"}}]})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "");
  r = d.decode(
      data(R"({"choices":[{"index":0,"delta":{"content":"Hi \u00e9"},"finish_reason":null}]})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "Hi \xC3\xA9");
  EXPECT_FALSE(d.finished());
  r = d.decode(data(R"({"choices":[{"delta":{},"finish_reason":"length"}]})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(d.finish_reason(), "length");
  EXPECT_TRUE(d.finished());
  r = d.decode(data(R"({"choices":[],"usage":{"total_tokens":3}})"));
  ASSERT_TRUE(r.ok());
  r = d.decode(data("[DONE]"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->done);
}

TEST(OpenAiChunkDecoder, ErrorChunks) {
  OpenAiChunkDecoder d;
  auto r = d.decode(data(R"({"error":{"message":"rate limit","type":"x"}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::upstream);
  EXPECT_NE(r.error().message.find("rate limit"), std::string::npos);
  r = d.decode(data(R"({"error":"plain"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("plain"), std::string::npos);
  r = d.decode(data("server melted", "error"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("server melted"), std::string::npos);
  r = d.decode(data(R"({"error":{"message":")" + std::string(5000, 'm') + "\"}}"));
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.error().message.size(), 400u);
}

TEST(OpenAiChunkDecoder, GarbageFromUpstream) {
  OpenAiChunkDecoder d;
  for (const char* bad : {"{nope", "42", "\"str\"", "[1,2]", R"({"choices":[7]})"}) {
    auto r = d.decode(data(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::upstream);
    EXPECT_EQ(r.error().message, "garbage from upstream") << bad;
  }
}

TEST(UpstreamUrl, Parses) {
  auto u = UpstreamUrl::parse("http://127.0.0.1:8081/v1/");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "8081");
  EXPECT_EQ(u->target("/chat/completions"), "/v1/chat/completions");
  EXPECT_EQ(u->host_header(), "127.0.0.1:8081");
  u = UpstreamUrl::parse("https://api.example.com");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target("/chat/completions"), "/chat/completions");
  EXPECT_EQ(u->host_header(), "api.example.com");
  u = UpstreamUrl::parse("http://[::1]:9000/v1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->host_header(), "[::1]:9000");
  EXPECT_FALSE(UpstreamUrl::parse("ftp://x/").ok());
  EXPECT_FALSE(UpstreamUrl::parse("not a url").ok());
  EXPECT_FALSE(UpstreamUrl::parse("").ok());
}

TEST(OpenAiRequestBody, ContainsParametersAndContinuation) {
  Request r;
  r.messages = {{"system", "sys"}, {"user", "hi"}};
  r.max_tokens = 12;
  r.temperature = 0.5;
  r.top_p = 0.9;
  r.continue_from = "Once upon";
  auto v = boost::json::parse(openai_request_body(r, "m1")).as_object();
  EXPECT_EQ(v.at("model").as_string(), "m1");
  EXPECT_TRUE(v.at("stream").as_bool());
  EXPECT_EQ(v.at("max_tokens").as_int64(), 12);
  EXPECT_DOUBLE_EQ(v.at("temperature").as_double(), 0.5);
  EXPECT_DOUBLE_EQ(v.at("top_p").as_double(), 0.9);
  EXPECT_FALSE(v.contains("stop"));
  const auto& m = v.at("messages").as_array();
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[2].at("role").as_string(), "assistant");
  EXPECT_EQ(m[2].at("content").as_string(), "Once upon");
  // Already present as the last message: not duplicated.
  r.messages.push_back({"assistant", "Once upon"});
  v = boost::json::parse(openai_request_body(r, "m1")).as_object();
  EXPECT_EQ(v.at("messages").as_array().size(), 3u);
}

}  // namespace
}  // namespace troupe::llm
