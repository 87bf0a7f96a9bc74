#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/url/parse.hpp>
#include <optional>

#include "api/Router.h"

namespace troupe::api {
namespace {

namespace asio = boost::asio;

// A handler that answers with its own name, so tests can tell which route matched.
RouteHandler named(std::string name) {
  return [name](RouteContext&) -> asio::awaitable<Reply> {
    Reply r;
    r.res.body() = name;
    co_return r;
  };
}

std::string invoke(const Router::Match& m, const std::string& target = "/") {
  if (!m.handler) return "<none>";
  HttpRequest req{http::verb::get, target, 11};
  auto url = boost::urls::parse_origin_form(target);
  EXPECT_TRUE(url.has_value());
  RouteContext ctx{req, *url, {}, m.ids, true};
  asio::io_context io;
  std::optional<std::string> out;
  asio::co_spawn(io, (*m.handler)(ctx), [&](std::exception_ptr, Reply r) { out = r.res.body(); });
  io.run();
  return out.value_or("<not run>");
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    r_.add(http::verb::get, "/api/characters", named("list"));
    r_.add(http::verb::post, "/api/characters", named("create"));
    r_.add(http::verb::post, "/api/characters/import", named("import"));
    r_.add(http::verb::get, "/api/characters/{id}", named("get"));
    r_.add(http::verb::put, "/api/characters/{id}", named("put"));
    r_.add(http::verb::delete_, "/api/characters/{id}", named("delete"));
    r_.add(http::verb::get, "/api/characters/{id}/export", named("export"));
    r_.add(http::verb::get, "/api/chats/{id}/messages/{id}", named("two-ids"));
    r_.add(http::verb::get, "/healthz", named("health"), false);
  }
  Router r_;
};

TEST_F(RouterTest, LiteralRoutes) {
  auto m = r_.match(http::verb::get, "/api/characters");
  EXPECT_EQ(invoke(m), "list");
  EXPECT_TRUE(m.auth);
  EXPECT_TRUE(m.ids.empty());
  EXPECT_EQ(invoke(r_.match(http::verb::post, "/api/characters")), "create");
  auto h = r_.match(http::verb::get, "/healthz");
  EXPECT_EQ(invoke(h), "health");
  EXPECT_FALSE(h.auth);
}

TEST_F(RouterTest, LiteralSegmentIsNotAnId) {
  EXPECT_EQ(invoke(r_.match(http::verb::post, "/api/characters/import")), "import");
  // "import" is not an id: GET on it only knows the POST route.
  auto m = r_.match(http::verb::get, "/api/characters/import");
  EXPECT_FALSE(m.handler);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allow, "POST");
}

TEST_F(RouterTest, IdSegments) {
  auto m = r_.match(http::verb::get, "/api/characters/42");
  EXPECT_EQ(invoke(m), "get");
  ASSERT_EQ(m.ids.size(), 1u);
  EXPECT_EQ(m.ids[0], 42);
  auto e = r_.match(http::verb::get, "/api/characters/7/export");
  EXPECT_EQ(invoke(e), "export");
  EXPECT_EQ(e.ids, (std::vector<std::int64_t>{7}));
  auto two = r_.match(http::verb::get, "/api/chats/3/messages/900");
  EXPECT_EQ(invoke(two), "two-ids");
  EXPECT_EQ(two.ids, (std::vector<std::int64_t>{3, 900}));
  // Leading zeros still name a positive integer; the largest 18-digit id is accepted.
  EXPECT_EQ(r_.match(http::verb::get, "/api/characters/007").ids,
            (std::vector<std::int64_t>{7}));
  EXPECT_EQ(r_.match(http::verb::get, "/api/characters/999999999999999999").ids,
            (std::vector<std::int64_t>{999999999999999999}));
}

TEST_F(RouterTest, BadIdsDoNotMatch) {
  for (const char* path :
       {"/api/characters/0", "/api/characters/-1", "/api/characters/abc", "/api/characters/1a",
        "/api/characters/+5", "/api/characters/1.5", "/api/characters/ 1",
        "/api/characters/0x10", "/api/characters/1000000000000000000",
        "/api/characters/99999999999999999999999"}) {
    auto m = r_.match(http::verb::get, path);
    EXPECT_FALSE(m.handler) << path;
    EXPECT_FALSE(m.path_known) << path;
    EXPECT_TRUE(m.allow.empty()) << path;
  }
}

TEST_F(RouterTest, MethodNotAllowedListsTheAllowedMethods) {
  auto m = r_.match(http::verb::patch, "/api/characters/5");
  EXPECT_FALSE(m.handler);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allow, "GET, HEAD, PUT, DELETE");
  auto c = r_.match(http::verb::delete_, "/api/characters");
  EXPECT_FALSE(c.handler);
  EXPECT_EQ(c.allow, "GET, HEAD, POST");
  // A matched route still reports the allow list of its path.
  auto ok = r_.match(http::verb::put, "/api/characters/5");
  EXPECT_EQ(invoke(ok), "put");
  EXPECT_EQ(ok.allow, "GET, HEAD, PUT, DELETE");
}

TEST_F(RouterTest, HeadRunsTheGetRouteOfItsPath) {
  auto h = r_.match(http::verb::head, "/api/characters/5");
  ASSERT_TRUE(h.handler);
  EXPECT_EQ(invoke(h), "get");
  EXPECT_EQ(h.ids, std::vector<std::int64_t>{5});
  // A path without GET has no HEAD either.
  auto none = r_.match(http::verb::head, "/api/characters/import");
  EXPECT_FALSE(none.handler);
  EXPECT_TRUE(none.path_known);
}

TEST_F(RouterTest, UnknownPaths) {
  for (const char* path : {"/", "", "/api", "/api/character", "/api/characters/5/exports",
                           "/api/characters/5/export/x", "/API/characters", "/healthz/5"}) {
    auto m = r_.match(http::verb::get, path);
    EXPECT_FALSE(m.handler) << path;
    EXPECT_FALSE(m.path_known) << path;
  }
}

TEST_F(RouterTest, EmptySegmentsAndTrailingSlashesAreIgnored) {
  EXPECT_EQ(invoke(r_.match(http::verb::get, "/api/characters/")), "list");
  EXPECT_EQ(invoke(r_.match(http::verb::get, "//api//characters//")), "list");
  EXPECT_EQ(invoke(r_.match(http::verb::get, "/api/characters/9/")), "get");
  EXPECT_EQ(invoke(r_.match(http::verb::get, "api/characters")), "list");
}

TEST_F(RouterTest, FirstAddedRouteWins) {
  Router r;
  r.add(http::verb::get, "/x/{id}", named("first"));
  r.add(http::verb::get, "/x/{id}", named("second"), false);
  auto m = r.match(http::verb::get, "/x/1");
  EXPECT_EQ(invoke(m), "first");
  EXPECT_TRUE(m.auth);
  EXPECT_EQ(m.allow, "GET, HEAD");  // each method once
}

TEST(RouteContext, QueryAndIds) {
  HttpRequest req{http::verb::get, "/a?x=1&empty=&sp=a%20b&x=2", 11};
  auto url = boost::urls::parse_origin_form(req.target());
  ASSERT_TRUE(url.has_value());
  RouteContext c{req, *url, {}, {5, 6}, true};
  EXPECT_EQ(c.query("x"), "1");  // the first one
  EXPECT_EQ(c.query("empty"), "");
  EXPECT_EQ(c.query("sp"), "a b");
  EXPECT_EQ(c.query("missing"), "");
  EXPECT_EQ(c.id(), 5);
  EXPECT_EQ(c.id(1), 6);
  EXPECT_EQ(c.id(2), 0);
}

}  // namespace
}  // namespace troupe::api
