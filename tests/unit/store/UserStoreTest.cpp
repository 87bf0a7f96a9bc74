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

TEST_P(UserStoreTest, DeleteUserRemovesEverythingOfTheirs) {
  User alice = make_user("alice");
  User bob = make_user("bob");
  ASSERT_OK(users().add_token(alice.id, sha256_hex("second")));
  Character aria = make_character(alice.id, "Aria");
  Chat chat = make_chat(alice.id, aria.id);
  Turn t = finished_turn(alice.id, chat.id, "hello");
  ASSERT_OK(chats().begin_turn(alice.id, chat.id, "again", "key-1", "sim"));
  Character bram = make_character(bob.id, "Bram");
  Chat bchat = make_chat(bob.id, bram.id);

  auto got = users().get_user(alice.id);
  ASSERT_OK(got);
  EXPECT_EQ(got->name, "alice");
  ASSERT_OK(users().delete_user(alice.id));

  EXPECT_ERRC(users().get_user(alice.id), Errc::not_found);
  EXPECT_ERRC(users().user_by_name("alice"), Errc::not_found);
  EXPECT_ERRC(users().user_by_token_hash(sha256_hex("token-alice")), Errc::not_found);
  EXPECT_ERRC(users().user_by_token_hash(sha256_hex("second")), Errc::not_found);
  EXPECT_ERRC(characters().get_character(alice.id, aria.id), Errc::not_found);
  EXPECT_ERRC(chats().get_chat(alice.id, chat.id), Errc::not_found);
  EXPECT_ERRC(chats().get_message(alice.id, t.user_message.id), Errc::not_found);
  EXPECT_ERRC(chats().get_generation(alice.id, t.generation.id), Errc::not_found);
  auto key = chats().find_turn(alice.id, "key-1");
  ASSERT_OK(key);
  EXPECT_FALSE(key->has_value());
  EXPECT_ERRC(users().delete_user(alice.id), Errc::not_found);

  // Bob is untouched.
  ASSERT_OK(users().get_user(bob.id));
  ASSERT_OK(characters().get_character(bob.id, bram.id));
  ASSERT_OK(chats().get_chat(bob.id, bchat.id));
  auto n = users().count_users();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
}

}  // namespace troupe::store::sqlite::testing
