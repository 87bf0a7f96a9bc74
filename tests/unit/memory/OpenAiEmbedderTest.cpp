#include "memory/embed/OpenAiEmbedder.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <mutex>
#include <thread>

namespace troupe::memory {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

// A blocking one-connection-at-a-time HTTP server on 127.0.0.1 that answers each request with
// the handler's reply.
class TestServer {
 public:
  struct Reply {
    unsigned status = 200;
    std::string body;
    int delay_ms = 0;
  };
  using Handler = std::function<Reply(const json::value& request)>;

  explicit TestServer(Handler h) : handler_(std::move(h)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { loop(); });
  }
  ~TestServer() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int requests() const { return requests_.load(); }
  std::string last_auth() { std::lock_guard l(mu_); return auth_; }
  std::string last_target() { std::lock_guard l(mu_); return target_; }

 private:
  void loop() {
    while (!stop_) {
      tcp::socket s(io_);
      boost::system::error_code ec;
      acceptor_.accept(s, ec);
      if (ec || stop_) return;
      beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(s, buf, req, ec);
      if (ec) continue;
      requests_.fetch_add(1);
      {
        std::lock_guard l(mu_);
        auth_ = std::string(req[http::field::authorization]);
        target_ = std::string(req.target());
      }
      boost::system::error_code jec;
      json::value body = json::parse(req.body(), jec);
      Reply r = handler_(body);
      if (r.delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(r.delay_ms));
      http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
      res.set(http::field::content_type, "application/json");
      res.body() = r.body;
      res.prepare_payload();
      http::write(s, res, ec);
    }
  }

  Handler handler_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::string auth_, target_;
};

// Embeds each input deterministically: dims values derived from the text length and position.
TestServer::Reply echo_embeddings(const json::value& req, int dims, bool reverse = false) {
  const auto& input = req.at("input").as_array();
  json::array data;
  for (std::size_t i = 0; i < input.size(); ++i) {
    std::size_t k = reverse ? input.size() - 1 - i : i;
    json::array e;
    auto len = double(input[k].as_string().size());
    for (int d = 0; d < dims; ++d) e.emplace_back(d == 0 ? len : 1.0 + d);
    data.emplace_back(json::object{{"object", "embedding"}, {"index", k}, {"embedding", std::move(e)}});
  }
  return {200, json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}})};
}

OpenAiEmbedderOptions options(const TestServer& s, int dims = 0, int batch = 64) {
  OpenAiEmbedderOptions o;
  o.base_url = s.url();
  o.model = "test-embed";
  o.api_key = "sekret";
  o.dims = dims;
  o.batch = batch;
  o.timeout_ms = 500;
  o.connect_timeout_ms = 500;
  o.breaker = {2, 1000};
  return o;
}

float norm2(const float* r, int d) {
  float s = 0;
  for (int i = 0; i < d; ++i) s += r[i] * r[i];
  return s;
}

TEST(OpenAiEmbedder, EmbedsNormalisesAndLearnsDims) {
  TestServer server([](const json::value& r) { return echo_embeddings(r, 4); });
  FakeClock clock;
  auto e = OpenAiEmbedder::create(options(server), clock);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ((*e)->info().name, "openai:test-embed");
  ASSERT_TRUE((*e)->probe().ok());
  ASSERT_EQ((*e)->info().dims, 4);
  std::vector<std::string_view> texts{"abc", "   ", "abcdefgh"};
  std::vector<float> out(3 * 4, 5.0f);
  ASSERT_TRUE((*e)->embed(texts, out).ok());
  EXPECT_NEAR(norm2(&out[0], 4), 1.0f, 1e-5);
  EXPECT_EQ(norm2(&out[4], 4), 0.0f);  // blank text: zero row, not sent
  EXPECT_NEAR(norm2(&out[8], 4), 1.0f, 1e-5);
  EXPECT_GT(out[8], out[0]);  // the longer text has the larger first component
  EXPECT_EQ(server.last_auth(), "Bearer sekret");
  EXPECT_EQ(server.last_target(), "/v1/embeddings");
  EXPECT_EQ(server.requests(), 2);
}

TEST(OpenAiEmbedder, SplitsIntoBatchesAndHonoursReplyIndexOrder) {
  std::mutex mu;
  std::vector<std::size_t> sizes;
  TestServer server([&](const json::value& r) {
    std::lock_guard l(mu);
    sizes.push_back(r.at("input").as_array().size());
    return echo_embeddings(r, 3, /*reverse=*/true);
  });
  FakeClock clock;
  auto e = OpenAiEmbedder::create(options(server, 3, 4), clock);
  ASSERT_TRUE(e.ok());
  std::vector<std::string> owned;
  for (int i = 0; i < 10; ++i) owned.push_back(std::string(i + 1, 'x'));
  std::vector<std::string_view> texts(owned.begin(), owned.end());
  std::vector<float> out(10 * 3);
  ASSERT_TRUE((*e)->embed(texts, out).ok());
  EXPECT_EQ(sizes, (std::vector<std::size_t>{4, 4, 2}));
  // Row i belongs to the text of length i+1: its first component grows with i.
  for (int i = 1; i < 10; ++i) EXPECT_GT(out[i * 3], out[(i - 1) * 3]) << i;
}

TEST(OpenAiEmbedder, TimeoutIsAnErrorAndCountsForTheBreaker) {
  TestServer server([](const json::value& r) {
    auto rep = echo_embeddings(r, 3);
    rep.delay_ms = 1500;
    return rep;
  });
  FakeClock clock;
  auto e = OpenAiEmbedder::create(options(server, 3), clock);
  ASSERT_TRUE(e.ok());
  std::vector<std::string_view> texts{"hello"};
  std::vector<float> out(3);
  auto t0 = std::chrono::steady_clock::now();
  auto s = (*e)->embed(texts, out);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::timeout);
  EXPECT_LT(took, std::chrono::milliseconds(1400));
  EXPECT_EQ((*e)->breaker().stats().failures, 1u);
}

TEST(OpenAiEmbedder, RejectsBadReplies) {
  std::atomic<int> mode{0};
  TestServer server([&](const json::value& r) -> TestServer::Reply {
    switch (mode.load()) {
      case 0: return {200, "not json"};
      case 1: return {200, R"({"data":[]})"};
      case 2: return {200, R"({"data":[{"embedding":[1,2]}]})"};          // wrong dims
      case 3: return {200, R"({"data":[{"embedding":[1,"x",3]}]})"};      // non-number
      case 4: return {200, R"({"data":[{"embedding":[1,1e999,3]}]})"};    // non-finite
      case 5: return {503, R"({"error":{"message":"busy"}})"};
      default: return echo_embeddings(r, 3);
    }
  });
  FakeClock clock;
  auto o = options(server, 3);
  o.breaker = {100, 1000};
  auto e = OpenAiEmbedder::create(o, clock);
  ASSERT_TRUE(e.ok());
  std::vector<std::string_view> texts{"hello"};
  std::vector<float> out(3);
  for (int m = 0; m <= 5; ++m) {
    mode = m;
    auto s = (*e)->embed(texts, out);
    ASSERT_FALSE(s.ok()) << "mode " << m;
    EXPECT_EQ(s.error().code, Errc::upstream) << s.error().message;
  }
  mode = 6;
  EXPECT_TRUE((*e)->embed(texts, out).ok());
}

TEST(OpenAiEmbedder, BreakerOpensThenProbesAndCloses) {
  std::atomic<bool> healthy{false};
  TestServer server([&](const json::value& r) -> TestServer::Reply {
    if (!healthy) return {500, "{}"};
    return echo_embeddings(r, 3);
  });
  FakeClock clock;
  auto e = OpenAiEmbedder::create(options(server, 3), clock);  // opens after 2 failures, 1 s
  ASSERT_TRUE(e.ok());
  std::vector<std::string_view> texts{"hello"};
  std::vector<float> out(3);
  EXPECT_FALSE((*e)->embed(texts, out).ok());
  EXPECT_FALSE((*e)->embed(texts, out).ok());
  EXPECT_EQ((*e)->breaker().state(), CircuitBreaker::State::open);
  auto s = (*e)->embed(texts, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::unavailable);
  EXPECT_EQ(server.requests(), 2);  // no request while open
  healthy = true;
  clock.advance_ms(1000);
  EXPECT_TRUE((*e)->embed(texts, out).ok());
  EXPECT_EQ((*e)->breaker().state(), CircuitBreaker::State::closed);
}

TEST(OpenAiEmbedder, ConnectionRefusedIsAnUpstreamError) {
  unsigned short port;
  {
    asio::io_context io;
    tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  FakeClock clock;
  OpenAiEmbedderOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(port);
  o.model = "m";
  o.dims = 2;
  auto e = OpenAiEmbedder::create(o, clock);
  ASSERT_TRUE(e.ok());
  std::vector<std::string_view> texts{"hello"};
  std::vector<float> out(2);
  auto s = (*e)->embed(texts, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Errc::upstream);
}

TEST(OpenAiEmbedder, RejectsBadOptions) {
  FakeClock clock;
  auto make = [&](std::string url, std::string model, int batch) {
    OpenAiEmbedderOptions o;
    o.base_url = std::move(url);
    o.model = std::move(model);
    o.batch = batch;
    return OpenAiEmbedder::create(o, clock).ok();
  };
  EXPECT_TRUE(make("http://localhost:8081/v1/", "m", 8));
  EXPECT_TRUE(make("http://[::1]:8081", "m", 8));
  EXPECT_FALSE(make("https://api.example.com/v1", "m", 8));
  EXPECT_FALSE(make("ftp://x", "m", 8));
  EXPECT_FALSE(make("http://host:port/v1", "m", 8));
  EXPECT_FALSE(make("http://localhost:8081", "", 8));
  EXPECT_FALSE(make("http://localhost:8081", "m", 0));
}

}  // namespace
}  // namespace troupe::memory
