#include "core/Result.h"

#include <gtest/gtest.h>

#include "core/Config.h"
#include "core/Crypto.h"

namespace troupe {

TEST(Result, HoldsValueOrError) {
  Result<int> a = 5;
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 5);
  Result<int> b = make_error(Errc::not_found, "nope");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, Errc::not_found);
  EXPECT_EQ(errc_http_status(b.error().code), 404);
  EXPECT_EQ(errc_name(Errc::too_large), "payload_too_large");
}

TEST(Config, PrecedenceTomlThenEnv) {
  Config c;
  ASSERT_TRUE(c.apply_toml_text("[server]\nlisten = \"0.0.0.0:9\"\nio_threads = 3\n", "t").ok());
  EXPECT_EQ(c.server.listen, "0.0.0.0:9");
  EXPECT_EQ(c.server.io_threads, 3);
  std::string e1 = "TROUPE_SERVER_LISTEN=127.0.0.1:7";
  std::string e2 = "TROUPE_UNRELATED=1";
  char* env[] = {e1.data(), e2.data(), nullptr};
  ASSERT_TRUE(c.apply_env(env).ok());
  EXPECT_EQ(c.server.listen, "127.0.0.1:7");
  EXPECT_EQ(c.server.io_threads, 3);
}

TEST(Config, StoreAndBusUrlsFromTomlAndEnv) {
  Config c;
  EXPECT_EQ(c.store.url, "");
  EXPECT_EQ(c.bus.url, "");
  ASSERT_TRUE(c.apply_toml_text("[store]\nurl = \"sqlite\"\n[bus]\nurl = \"redis://h:1\"\n", "t").ok());
  EXPECT_EQ(c.store.url, "sqlite");
  EXPECT_EQ(c.bus.url, "redis://h:1");
  std::string e1 = "TROUPE_STORE_URL=postgres://u@db:5432/troupe";
  std::string e2 = "TROUPE_BUS_URL=redis://r:6380";
  char* env[] = {e1.data(), e2.data(), nullptr};
  ASSERT_TRUE(c.apply_env(env).ok());
  EXPECT_EQ(c.store.url, "postgres://u@db:5432/troupe");
  EXPECT_EQ(c.bus.url, "redis://r:6380");
}

TEST(Config, SqliteWalCoalescingIsOnByDefaultAndCanBeSwitchedOff) {
  Config c;
  EXPECT_TRUE(c.store.sqlite_coalesce_wal);
  ASSERT_TRUE(c.set("store.sqlite_coalesce_wal", "false").ok());
  EXPECT_FALSE(c.store.sqlite_coalesce_wal);
  ASSERT_TRUE(c.apply_toml_text("[store]\nsqlite_coalesce_wal = true\n", "t").ok());
  EXPECT_TRUE(c.store.sqlite_coalesce_wal);
  EXPECT_FALSE(c.set("store.sqlite_coalesce_wal", "sometimes").ok());
}

TEST(Config, RejectsUnknownKeysAndBadNumbers) {
  Config c;
  auto s = c.apply_toml_text("[server]\nnope = 1\n", "t");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("server.nope"), std::string::npos);
  EXPECT_FALSE(c.set("server.io_threads", "abc").ok());
  EXPECT_FALSE(c.apply_toml_text("[server\n", "t").ok());
}

TEST(Crypto, TokensAreRandomAndHashesStable) {
  auto a = random_token("trp_");
  auto b = random_token("trp_");
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 4u + 48u);
  EXPECT_EQ(sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace troupe
