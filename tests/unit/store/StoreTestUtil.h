// Shared fixture for the store tests: a fake clock, helpers that create a user, a character and a
// chat, and the store under test. StoreTest opens the embedded SQLite store (in a temp directory
// under /tmp); StoreBackendTest is the same fixture parametrised by backend, so one test body runs
// against SQLite and against PostgreSQL (a fresh database on the private server of
// PgTestServer.h). Register a suite for both with TROUPE_STORE_BACKENDS(SuiteName).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/Clock.h"
#include "core/Crypto.h"
#include "PgTestServer.h"
#include "store/postgres/PgStore.h"
#include "store/sqlite/SqliteStore.h"

namespace troupe::store::sqlite::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/troupe-store-test-XXXXXX";
    char* p = mkdtemp(tmpl.data());
    if (p != nullptr) path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

#define ASSERT_OK(expr)                                                     \
  do {                                                                      \
    const auto& troupe_r_ = (expr);                                         \
    ASSERT_TRUE(troupe_r_.ok()) << #expr << ": " << troupe_r_.error().message; \
  } while (0)

#define EXPECT_ERRC(expr, errc)                                        \
  do {                                                                 \
    const auto& troupe_r_ = (expr);                                    \
    EXPECT_FALSE(troupe_r_.ok()) << #expr << " unexpectedly succeeded"; \
    if (!troupe_r_.ok()) {                                             \
      EXPECT_EQ(troupe_r_.error().code, (errc)) << troupe_r_.error().message; \
    }                                                                  \
  } while (0)

enum class Backend { sqlite, postgres };

inline void PrintTo(Backend b, std::ostream* os) {
  *os << (b == Backend::sqlite ? "sqlite" : "postgres");
}

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::sqlite ? "sqlite" : "postgres";
}

class StoreTest : public ::testing::Test {
 protected:
  // The backend this fixture opens; StoreBackendTest answers its test parameter.
  virtual Backend backend() const { return Backend::sqlite; }

  void SetUp() override {
    if (backend() == Backend::postgres) {
      auto url = store::testing::PgTestServer::create_database();
      ASSERT_TRUE(url.ok()) << "PostgreSQL test server: " << url.error().message;
      pg_url_ = *url;
    } else {
      ASSERT_FALSE(dir_.path().empty());
      db_path_ = dir_.path() + "/troupe.db";
    }
    reopen();
  }

  // Closes and reopens the store on the same database (data must come back from storage).
  void reopen() {
    store_.reset();
    pg_store_.reset();
    if (backend() == Backend::postgres) {
      auto s = postgres::PgStore::open(pg_url_, clock_, 8);
      ASSERT_TRUE(s.ok()) << s.error().message;
      pg_store_ = std::move(*s);
    } else {
      auto s = SqliteStore::open(db_path_, clock_);
      ASSERT_TRUE(s.ok()) << s.error().message;
      store_ = std::move(*s);
    }
  }

  UserStore& users() { return pg_store_ ? pg_store_->users() : store_->users(); }
  CharacterStore& characters() {
    return pg_store_ ? pg_store_->characters() : store_->characters();
  }
  ChatStore& chats() { return pg_store_ ? pg_store_->chats() : store_->chats(); }

  User make_user(const std::string& name) {
    auto u = users().create_user(name, false, sha256_hex("token-" + name));
    EXPECT_TRUE(u.ok()) << (u.ok() ? "" : u.error().message);
    return u.ok() ? *u : User{};
  }

  Character make_character(Id user_id, const std::string& name) {
    Character c;
    c.user_id = user_id;
    c.name = name;
    c.first_mes = "Hello from " + name;
    auto r = characters().create_character(c);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Character{};
  }

  Chat make_chat(Id user_id, Id character_id, std::vector<std::string> greetings = {"Hi!"},
                 const std::string& title = "chat") {
    Chat c;
    c.user_id = user_id;
    c.character_id = character_id;
    c.title = title;
    auto r = chats().create_chat(c, greetings);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Chat{};
  }

  // A finished turn: user message + completed reply. Returns the turn.
  Turn finished_turn(Id user_id, Id chat_id, const std::string& text) {
    auto t = chats().begin_turn(user_id, chat_id, text, "", "sim");
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    if (!t.ok()) return {};
    auto f = chats().finish_generation(t->generation.id, "completed", "re: " + text, "");
    EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
    return *t;
  }

  // Ids of the selected path, oldest first.
  std::vector<Id> path_ids(Id chat_id) {
    std::vector<Id> ids;
    auto p = chats().path_to(chat_id, 0, 1'000'000);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
    if (p.ok()) {
      for (const auto& m : *p) ids.push_back(m.id);
    }
    return ids;
  }

  Chat chat(Id user_id, Id chat_id) {
    auto c = chats().get_chat(user_id, chat_id);
    EXPECT_TRUE(c.ok());
    return c.ok() ? *c : Chat{};
  }

  TempDir dir_;
  std::string db_path_;
  std::string pg_url_;
  FakeClock clock_;
  std::unique_ptr<SqliteStore> store_;             // Backend::sqlite
  std::unique_ptr<postgres::PgStore> pg_store_;  // Backend::postgres
};

class StoreBackendTest : public StoreTest, public ::testing::WithParamInterface<Backend> {
 protected:
  Backend backend() const override { return GetParam(); }
};

#define TROUPE_STORE_BACKENDS(suite)                                                     \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                               \
                           ::testing::Values(Backend::sqlite, Backend::postgres), backend_name)

}  // namespace troupe::store::sqlite::testing
