// Fixture for the API tests: the chat fixture's real services over a temp SQLite store, with the
// real JSON event encoder, plus the REST surface (Api) and helpers to send requests to it.
// Thread-safety: single test thread (plus the DB pool the services use).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>

#include "../chat/ChatTestUtil.h"
#include "api/Api.h"
#include "api/JsonEventFormatter.h"
#include "api/WsProtocol.h"
#include "chat/CharacterService.h"

namespace troupe::api::testing {

using chat::testing::Ev;
using chat::testing::Script;
namespace json = boost::json;

class ApiFixture : public chat::testing::ChatFixture {
 protected:
  void SetUp() override {
    ChatFixture::SetUp();
    if (HasFatalFailure()) return;
    characters_ = std::make_unique<chat::CharacterService>(deps());
    api_ = std::make_unique<Api>(Services{config_, *auth_, *characters_, *chats_, *turns_, ready_});
  }

  void TearDown() override {
    api_.reset();
    characters_.reset();
    ChatFixture::TearDown();
  }

  const chat::EventFormatter& formatter() const override { return json_fmt_; }

  static std::string token(const store::User& u) { return "token-" + u.name; }

  // Sends one request through Api::handle. `auth` is the bearer token ("" = none).
  Reply call(http::verb method, const std::string& target, const std::string& body = "",
             const std::string& auth = "token-alice",
             const std::map<std::string, std::string>& headers = {}) {
    HttpRequest req{method, target, 11};
    req.set(http::field::host, "localhost");
    if (!auth.empty()) req.set(http::field::authorization, "Bearer " + auth);
    for (auto& [k, v] : headers) req.set(k, v);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    return await(api_->handle(req));
  }

  static json::object body(const Reply& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.res.body(), ec);
    EXPECT_FALSE(ec) << "not JSON: " << r.res.body();
    if (ec || !v.is_object()) return {};
    return v.as_object();
  }

  // Checks the error body shape {"error":{"code","message"}} and returns the code.
  static std::string error_code(const Reply& r) {
    auto b = body(r);
    EXPECT_EQ(r.res[http::field::content_type], "application/json");
    auto it = b.find("error");
    EXPECT_NE(it, b.end()) << r.res.body();
    if (it == b.end() || !it->value().is_object()) return "";
    const auto& e = it->value().as_object();
    EXPECT_TRUE(e.contains("message") && e.at("message").is_string()) << r.res.body();
    EXPECT_TRUE(e.contains("code") && e.at("code").is_string()) << r.res.body();
    EXPECT_EQ(b.size(), 1u) << r.res.body();
    return e.contains("code") && e.at("code").is_string() ? std::string(e.at("code").as_string())
                                                          : "";
  }

  JsonEventFormatter json_fmt_;
  std::atomic<bool> ready_{true};
  std::unique_ptr<chat::CharacterService> characters_;
  std::unique_ptr<Api> api_;
};

}  // namespace troupe::api::testing
