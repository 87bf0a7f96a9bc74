#include "StoreTestUtil.h"

namespace troupe::store::sqlite::testing {

using UserStoreTest = StoreBackendTest;
TROUPE_STORE_BACKENDS(UserStoreTest);

TEST_P(UserStoreTest, CreateLookupAndCount) {
  auto n0 = users().count_users();
  ASSERT_OK(n0);
  EXPECT_EQ(*n0, 0);
  auto u = users().create_user("alice", true, sha256_hex("tok-a"));
  ASSERT_OK(u);
  EXPECT_GT(u->id, 0);
  EXPECT_TRUE(u->is_admin);
  EXPECT_EQ(u->created_at, clock_.now_ms());

  auto by_tok = users().user_by_token_hash(sha256_hex("tok-a"));
  ASSERT_OK(by_tok);
  EXPECT_EQ(by_tok->id, u->id);
  EXPECT_EQ(by_tok->name, "alice");
  EXPECT_TRUE(by_tok->is_admin);
  auto by_name = users().user_by_name("alice");
  ASSERT_OK(by_name);
  EXPECT_EQ(by_name->id, u->id);
  EXPECT_EQ(by_name->created_at, u->created_at);

  EXPECT_ERRC(users().user_by_name("bob"), Errc::not_found);
  EXPECT_ERRC(users().user_by_token_hash(sha256_hex("nope")), Errc::not_found);
  EXPECT_ERRC(users().user_by_token_hash("raw-token"), Errc::not_found);
  auto n1 = users().count_users();
  ASSERT_OK(n1);
  EXPECT_EQ(*n1, 1);
}

TEST_P(UserStoreTest, NamesAndTokensAreUnique) {
  ASSERT_OK(users().create_user("alice", false, sha256_hex("a")));
  EXPECT_ERRC(users().create_user("alice", false, sha256_hex("b")), Errc::conflict);
  EXPECT_ERRC(users().create_user("bob", false, sha256_hex("a")), Errc::conflict);
  // The failed create left nothing behind.
  EXPECT_ERRC(users().user_by_name("bob"), Errc::not_found);
  auto n = users().count_users();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
}

TEST_P(UserStoreTest, AddToken) {
  auto u = users().create_user("alice", false, sha256_hex("a"));
  ASSERT_OK(u);
  ASSERT_OK(users().add_token(u->id, sha256_hex("a2")));
  auto by = users().user_by_token_hash(sha256_hex("a2"));
  ASSERT_OK(by);
  EXPECT_EQ(by->id, u->id);
  EXPECT_ERRC(users().add_token(u->id, sha256_hex("a2")), Errc::conflict);
  EXPECT_ERRC(users().add_token(u->id + 100, sha256_hex("x")), Errc::not_found);
}

TEST_P(UserStoreTest, OnlyHashesAreStored) {
  EXPECT_ERRC(users().create_user("alice", false, "trp_raw_token"), Errc::bad_request);
  EXPECT_ERRC(users().create_user("alice", false, std::string(64, 'A')), Errc::bad_request);
  EXPECT_ERRC(users().create_user("", false, sha256_hex("x")), Errc::bad_request);
  auto u = users().create_user("alice", false, sha256_hex("a"));
  ASSERT_OK(u);
  EXPECT_ERRC(users().add_token(u->id, "short"), Errc::bad_request);
}

}  // namespace troupe::store::sqlite::testing
