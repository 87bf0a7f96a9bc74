// PostgreSQL-only behaviour: error mapping, migrations under concurrent start, retries, the pool,
// lost connections and two stores ("nodes") sharing one database.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "StoreTestUtil.h"
#include "store/postgres/PgError.h"
#include "store/postgres/PgMigrations.h"

namespace troupe::store::sqlite::testing {
namespace {

using postgres::PgConnection;
using postgres::PgOptions;
using postgres::PgStore;

TEST(PgError, MapsSqlStates) {
  using postgres::pg_error;
  EXPECT_EQ(pg_error("", "server closed the connection", "x").code, Errc::unavailable);
  EXPECT_EQ(pg_error("08006", "m", "x").code, Errc::unavailable);
  EXPECT_EQ(pg_error("57P01", "m", "x").code, Errc::unavailable);
  EXPECT_EQ(pg_error("40001", "m", "x").code, Errc::unavailable);
  EXPECT_EQ(pg_error("55P03", "m", "x").code, Errc::unavailable);
  EXPECT_EQ(pg_error("23505", "m", "x").code, Errc::conflict);
  EXPECT_EQ(pg_error("23503", "m", "x").code, Errc::conflict);
  EXPECT_EQ(pg_error("22021", "m", "x").code, Errc::bad_request);
  EXPECT_EQ(pg_error("42P01", "m", "x").code, Errc::internal);
  EXPECT_TRUE(postgres::pg_retryable("40P01"));
  EXPECT_FALSE(postgres::pg_retryable("23505"));
  EXPECT_EQ(pg_error("42P01", "no table\n", "ctx").message, "ctx: 42P01 no table");
}

class PgStoreTest : public StoreTest {
 protected:
  Backend backend() const override { return Backend::postgres; }

  // A separate raw connection, as an operator (or another node) would have.
  std::unique_ptr<PgConnection> raw() {
    auto c = PgConnection::open(pg_url_, {});
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    return c.ok() ? std::move(*c) : nullptr;
  }

  // The schema version `c` reads is the latest this build knows.
  static void expect_latest_schema(PgConnection& c) {
    auto v = postgres::pg_schema_version(c);
    ASSERT_OK(v);
    EXPECT_EQ(*v, postgres::pg_latest_schema_version());
  }
};

TEST_F(PgStoreTest, MigrationsAreRecordedOnceAndIdempotent) {
  reopen();
  reopen();
  auto c = raw();
  ASSERT_NE(c, nullptr);
  expect_latest_schema(*c);
  auto n = c->query("SELECT COUNT(*) FROM schema_migrations");
  ASSERT_OK(n);
  EXPECT_EQ(n->col_int(0, 0), postgres::pg_latest_schema_version());
}

TEST_F(PgStoreTest, VersionTwoIsUpgradedToOneGenerationsIndexAndKeepsItsRows) {
  // A database left at version 2 (the two single-column generations indexes) opens at the
  // latest version with generations (chat_id, message_id) instead, and its rows.
  const User u = make_user("ann");
  const Character ch = make_character(u.id, "Aria");
  const Chat chat = make_chat(u.id, ch.id);
  auto t = chats().begin_turn(u.id, chat.id, "hello", "", "sim");
  ASSERT_OK(t);
  {
    auto c = raw();
    ASSERT_NE(c, nullptr);
    ASSERT_OK(c->exec("DROP INDEX generations_chat_message"));
    ASSERT_OK(c->exec("CREATE INDEX generations_chat ON generations(chat_id)"));
    ASSERT_OK(c->exec("CREATE INDEX generations_message ON generations(message_id)"));
    ASSERT_OK(c->exec("DELETE FROM schema_migrations WHERE version > 2"));
  }
  reopen();
  auto c = raw();
  ASSERT_NE(c, nullptr);
  expect_latest_schema(*c);
  EXPECT_EQ(postgres::pg_latest_schema_version(), 3);
  auto idx = c->query(
      "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes "
      "WHERE tablename = 'generations'");
  ASSERT_OK(idx);
  EXPECT_EQ(idx->col_text(0, 0), "generations_chat_message,generations_one_running,generations_pkey");
  auto g = chats().get_generation(u.id, t->generation.id);
  ASSERT_OK(g);
  EXPECT_EQ(g->message_id, t->reply.id);
}

TEST(PgStoreStart, NodesStartingAtOnceMigrateOnce) {
  auto url = store::testing::PgTestServer::create_database();
  ASSERT_TRUE(url.ok()) << url.error().message;
  FakeClock clock;
  constexpr int kNodes = 6;
  std::vector<std::unique_ptr<PgStore>> stores(kNodes);
  std::vector<std::string> errors(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      auto s = PgStore::open(*url, clock, 2);
      if (s.ok()) {
        stores[i] = std::move(*s);
      } else {
        errors[i] = s.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kNodes; ++i) EXPECT_NE(stores[i], nullptr) << errors[i];
  auto c = PgConnection::open(*url, {});
  ASSERT_OK(c);
  auto n = (*c)->query("SELECT COUNT(*), MAX(version) FROM schema_migrations");
  ASSERT_OK(n);
  EXPECT_EQ(n->col_int(0, 0), postgres::pg_latest_schema_version());
  EXPECT_EQ(n->col_int(0, 1), postgres::pg_latest_schema_version());
}

TEST_F(PgStoreTest, RefusesNewerSchema) {
  auto c = raw();
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->query("INSERT INTO schema_migrations(version, applied_at) VALUES(999, 0)"));
  pg_store_.reset();
  auto s = PgStore::open(pg_url_, clock_, 2);
  EXPECT_ERRC(s, Errc::internal);
}

TEST_F(PgStoreTest, InvalidTextIsABadRequestAndNothingIsStored) {
  using namespace std::string_literals;
  EXPECT_ERRC(users().create_user("al\0ice"s, false, sha256_hex("t")), Errc::bad_request);
  EXPECT_ERRC(users().create_user("bad \xff utf8", false, sha256_hex("t")), Errc::bad_request);
  auto n = users().count_users();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
}

TEST_F(PgStoreTest, UnreachableServerIsUnavailable) {
  // A loopback port nobody listens on (bound and released at once).
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int port = ntohs(a.sin_port);
  ::close(s);
  auto r = PgStore::open("postgres://troupe@127.0.0.1:" + std::to_string(port) + "/x", clock_, 1);
  EXPECT_ERRC(r, Errc::unavailable);
}

TEST_F(PgStoreTest, LostConnectionIsUnavailableThenReconnects) {
  User u = make_user("alice");
  auto killer = raw();
  ASSERT_NE(killer, nullptr);
  // The connection dies in the middle of a transaction: the call answers unavailable.
  auto r = pg_store_->db().write([&](PgConnection& c) -> Status {
    auto pid = c.query("SELECT pg_backend_pid()");
    if (!pid.ok()) return pid.error();
    auto k = killer->query("SELECT pg_terminate_backend($1::int)", {pid->col_int(0, 0)});
    if (!k.ok()) return k.error();
    auto after = c.query("SELECT 1");
    if (!after.ok()) return after.error();
    return {};
  });
  EXPECT_ERRC(r, Errc::unavailable);
  // The next call gets a fresh connection.
  auto again = users().user_by_name("alice");
  ASSERT_OK(again);
  EXPECT_EQ(again->id, u.id);
  // Idle pooled connections killed by the server are replaced before use.
  ASSERT_OK(killer->query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE application_name = 'troupe' AND pid <> pg_backend_pid()"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_OK(users().user_by_name("alice"));
}

TEST_F(PgStoreTest, ServerDownFailsFastWithUnavailableThenRecovers) {
  User u = make_user("alice");
  ASSERT_OK(store::testing::PgTestServer::pause());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_ERRC(users().user_by_name("alice"), Errc::unavailable);
  EXPECT_ERRC(chats().reserve_seq(1, 1), Errc::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  ASSERT_OK(store::testing::PgTestServer::resume());
  auto again = users().user_by_name("alice");
  ASSERT_OK(again);
  EXPECT_EQ(again->id, u.id);
}

TEST_F(PgStoreTest, SerializationFailuresAreRetriedABoundedNumberOfTimes) {
  int runs = 0;
  auto once = pg_store_->db().write([&](PgConnection& c) -> Status {
    if (++runs == 1) {
      TROUPE_TRY_STATUS(c.exec("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40001'; END $$"));
    }
    return {};
  });
  ASSERT_OK(once);
  EXPECT_EQ(runs, 2);
  runs = 0;
  auto always = pg_store_->db().write([&](PgConnection& c) -> Status {
    ++runs;
    return c.exec("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40P01'; END $$");
  });
  EXPECT_ERRC(always, Errc::unavailable);
  EXPECT_EQ(runs, pg_store_->db().options().max_attempts);
  // A constraint failure is not retried.
  runs = 0;
  auto conflict = pg_store_->db().write([&](PgConnection& c) -> Status {
    ++runs;
    return c.exec("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '23505'; END $$");
  });
  EXPECT_ERRC(conflict, Errc::conflict);
  EXPECT_EQ(runs, 1);
}

TEST_F(PgStoreTest, ExhaustedPoolIsUnavailable) {
  PgOptions opts;
  opts.pool_size = 1;
  opts.acquire_timeout_ms = 50;
  auto s = PgStore::open(pg_url_, clock_, opts);
  ASSERT_OK(s);
  auto held = (*s)->db().acquire();
  ASSERT_OK(held);
  EXPECT_ERRC((*s)->users().count_users(), Errc::unavailable);
}

// Two stores on one database behave like two nodes: sequence numbers are never handed out twice
// and one idempotency key makes one turn, whichever node each request reaches.
TEST_F(PgStoreTest, TwoNodesShareSequenceNumbersAndIdempotencyKeys) {
  auto other = PgStore::open(pg_url_, clock_, 4);
  ASSERT_OK(other);
  PgStore* nodes[2] = {pg_store_.get(), other->get()};
  User u = make_user("alice");
  Character ch = make_character(u.id, "Aria");
  Chat c = make_chat(u.id, ch.id);
  constexpr int kThreads = 4;
  constexpr int kReserves = 50;
  std::vector<std::vector<std::int64_t>> got(kThreads);
  std::vector<Id> turn_user_ids(kThreads);
  std::atomic<int> errors{0}, fresh{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ChatStore& chats = nodes[t % 2]->chats();
      auto turn = chats.begin_turn(u.id, c.id, "once", "same-key", "sim");
      if (!turn.ok()) {
        ++errors;
        return;
      }
      if (!turn->replayed) ++fresh;
      turn_user_ids[t] = turn->user_message.id;
      for (int i = 0; i < kReserves; ++i) {
        auto r = chats.reserve_seq(c.id, 2);
        if (!r.ok()) {
          ++errors;
          return;
        }
        got[t].push_back(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(errors.load(), 0);
  EXPECT_EQ(fresh.load(), 1);
  for (Id id : turn_user_ids) EXPECT_EQ(id, turn_user_ids[0]);
  std::set<std::int64_t> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kReserves));
  EXPECT_EQ(*all.rbegin(), 2 * kThreads * kReserves);
  for (std::int64_t hw : all) EXPECT_EQ(hw % 2, 0);  // whole blocks of two
}

TEST_F(PgStoreTest, AvatarBytesAreStoredAsBytea) {
  using namespace std::string_literals;
  User u = make_user("alice");
  Character in;
  in.user_id = u.id;
  in.name = "A";
  in.avatar_png = "\0\x01\xff\x80 PNG\0"s;
  auto created = characters().create_character(in);
  ASSERT_OK(created);
  auto c = raw();
  ASSERT_NE(c, nullptr);
  auto r = c->query("SELECT octet_length(avatar_png), pg_typeof(avatar_png)::text FROM characters "
                    "WHERE id = $1",
                    {created->id});
  ASSERT_OK(r);
  EXPECT_EQ(r->col_int(0, 0), static_cast<std::int64_t>(in.avatar_png.size()));
  EXPECT_EQ(r->col_text(0, 1), "bytea");
  auto got = characters().get_character(u.id, created->id);
  ASSERT_OK(got);
  EXPECT_EQ(got->avatar_png, in.avatar_png);
}

}  // namespace
}  // namespace troupe::store::sqlite::testing
