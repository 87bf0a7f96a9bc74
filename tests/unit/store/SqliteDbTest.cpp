#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "StoreTestUtil.h"
#include "core/Metrics.h"
#include "store/sqlite/Migrations.h"
#include "store/sqlite/SqliteDb.h"
#include "store/sqlite/SqliteError.h"
#include "store/sqlite/StringList.h"

namespace troupe::store::sqlite::testing {

using namespace std::string_literals;

TEST(StringList, RoundTripsAnyBytes) {
  std::vector<std::string> items = {"", "plain", "quote \" and \\ backslash", "line\nbreak\ttab",
                                    "nul\0byte"s, "ünïcødé ✓ 😀",
                                    "\xff\xfe bad utf8"s, "[\"not\",\"a list\"]"};
  std::string enc = encode_string_list(items);
  auto dec = decode_string_list(enc);
  ASSERT_TRUE(dec.has_value());
  EXPECT_EQ(*dec, items);
  EXPECT_EQ(encode_string_list({}), "[]");
  EXPECT_EQ(decode_string_list("[]")->size(), 0u);
}

TEST(StringList, AcceptsStandardJsonAndRejectsOthers) {
  auto d = decode_string_list(" [ \"a\\u00e9\\ud83d\\ude00\" , \"\\/\\b\\f\\r\" ] ");
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0], "a\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ((*d)[1], "/\b\f\r");
  EXPECT_FALSE(decode_string_list("").has_value());
  EXPECT_FALSE(decode_string_list("[1]").has_value());
  EXPECT_FALSE(decode_string_list("[\"a\",]").has_value());
  EXPECT_FALSE(decode_string_list("[\"a\"] x").has_value());
  EXPECT_FALSE(decode_string_list("[\"unterminated]").has_value());
  EXPECT_FALSE(decode_string_list("[\"\\q\"]").has_value());
}

TEST(SqliteError, MapsCodes) {
  EXPECT_EQ(sqlite_error(SQLITE_BUSY, nullptr, "x").code, Errc::unavailable);
  EXPECT_EQ(sqlite_error(SQLITE_LOCKED, nullptr, "x").code, Errc::unavailable);
  EXPECT_EQ(sqlite_error(SQLITE_CONSTRAINT_UNIQUE, nullptr, "x").code, Errc::conflict);
  EXPECT_EQ(sqlite_error(SQLITE_IOERR, nullptr, "x").code, Errc::internal);
}

TEST(SqliteDb, OpensConfiguredAndMigrated) {
  TempDir dir;
  auto db = SqliteDb::open(dir.path() + "/a.db");
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto r = (*db)->read([](Connection& c) -> Result<std::string> {
    auto st = c.prepare("PRAGMA journal_mode");
    if (!st.ok()) return st.error();
    TROUPE_TRY_STATUS(st->step());
    std::string mode = st->col_text(0);
    auto fk = c.prepare("PRAGMA foreign_keys");
    if (!fk.ok()) return fk.error();
    TROUPE_TRY_STATUS(fk->step());
    auto sync = c.prepare("PRAGMA synchronous");
    if (!sync.ok()) return sync.error();
    TROUPE_TRY_STATUS(sync->step());
    auto v = schema_version(c);
    if (!v.ok()) return v.error();
    return mode + "/" + std::to_string(fk->col_int(0)) + "/" + std::to_string(sync->col_int(0)) +
           "/" + std::to_string(*v);
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "wal/1/2/" + std::to_string(latest_schema_version()));  // 2 = FULL
}

TEST(SqliteDb, MigrationsAreIdempotentOnReopen) {
  TempDir dir;
  const std::string path = dir.path() + "/m.db";
  FakeClock clock;
  {
    auto s = SqliteStore::open(path, clock);
    ASSERT_TRUE(s.ok()) << s.error().message;
    ASSERT_OK((*s)->users().create_user("ann", true, sha256_hex("t")));
  }
  for (int i = 0; i < 3; ++i) {
    auto s = SqliteStore::open(path, clock);
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto n = (*s)->users().count_users();
    ASSERT_OK(n);
    EXPECT_EQ(*n, 1);
    auto v = (*s)->db().read([](Connection& c) { return schema_version(c); });
    ASSERT_OK(v);
    EXPECT_EQ(*v, latest_schema_version());
  }
}

TEST(SqliteDb, SchemaTwoIsUpgradedWithoutTheParentIndexAndKeepsItsRows) {
  // A database left at version 2 (it still has messages_parent and the two single-column indexes
  // on generations) opens at the latest version, without those indexes, with generations
  // (chat_id, message_id) and with its rows; the tree's subtree query then walks messages_chat
  // and its generations' delete uses the new index.
  TempDir dir;
  const std::string path = dir.path() + "/old.db";
  FakeClock clock;
  {
    auto s = SqliteStore::open(path, clock);
    ASSERT_TRUE(s.ok()) << s.error().message;
    ASSERT_OK((*s)->users().create_user("ann", true, sha256_hex("t")));
    ASSERT_OK((*s)->db().write([](Connection& c) -> Status {
      TROUPE_TRY_STATUS(c.exec("CREATE INDEX messages_parent ON messages(parent_id)"));
      TROUPE_TRY_STATUS(c.exec("DROP INDEX generations_chat_message"));
      TROUPE_TRY_STATUS(c.exec("CREATE INDEX generations_chat ON generations(chat_id)"));
      TROUPE_TRY_STATUS(c.exec("CREATE INDEX generations_message ON generations(message_id)"));
      return c.exec("PRAGMA user_version=2");
    }));
  }
  auto s = SqliteStore::open(path, clock);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto n = (*s)->users().count_users();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
  auto r = (*s)->db().read([](Connection& c) -> Result<std::string> {
    auto idx = c.prepare(
        "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'index' "
        "AND tbl_name IN ('messages', 'generations') AND name NOT LIKE 'sqlite_%' ORDER BY name)");
    if (!idx.ok()) return idx.error();
    TROUPE_TRY_STATUS(idx->step());
    std::string out = idx->col_text(0);
    for (const char* table : {"messages", "generations WHERE chat_id = ?2 AND message_id"}) {
      auto plan = c.prepare(
          std::string("EXPLAIN QUERY PLAN WITH RECURSIVE sub(id) AS (SELECT ?1 UNION ALL "
                      "SELECT m.id FROM sub JOIN messages m ON m.chat_id = ?2 AND m.parent_id = sub.id) "
                      "DELETE FROM ") +
          table + (std::string(table) == "messages" ? " WHERE id IN sub" : " IN sub"));
      if (!plan.ok()) return plan.error();
      for (;;) {
        auto row = plan->step();
        if (!row.ok()) return row.error();
        if (!*row) break;
        out += "|" + plan->col_text(3);
      }
    }
    auto v = schema_version(c);
    if (!v.ok()) return v.error();
    return out + "|v" + std::to_string(*v);
  });
  ASSERT_OK(r);
  EXPECT_EQ(r->substr(0, r->find('|')),
            "generations_chat_message,generations_one_running,messages_chat") << *r;
  EXPECT_NE(r->find("INDEX messages_chat (chat_id=? AND parent_id=?)"), std::string::npos) << *r;
  EXPECT_NE(r->find("INDEX generations_chat_message (chat_id=? AND message_id=?)"), std::string::npos) << *r;
  EXPECT_NE(r->find("|v" + std::to_string(latest_schema_version())), std::string::npos) << *r;
  EXPECT_EQ(latest_schema_version(), 4);
}

TEST(SqliteDb, RefusesNewerSchema) {
  TempDir dir;
  const std::string path = dir.path() + "/n.db";
  {
    auto db = SqliteDb::open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_OK((*db)->read([](Connection& c) { return c.exec("PRAGMA user_version=999"); }));
  }
  auto db = SqliteDb::open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message.find("newer"), std::string::npos);
}

TEST(SqliteDb, WriteRollsBackOnError) {
  TempDir dir;
  auto db = SqliteDb::open(dir.path() + "/r.db");
  ASSERT_TRUE(db.ok());
  auto r = (*db)->write([](Connection& c) -> Status {
    TROUPE_TRY_STATUS(c.exec("INSERT INTO users(name, created_at) VALUES('x', 1)"));
    return make_error(Errc::bad_request, "abort");
  });
  EXPECT_ERRC(r, Errc::bad_request);
  auto dup = (*db)->write([](Connection& c) -> Status {
    TROUPE_TRY_STATUS(c.exec("INSERT INTO users(name, created_at) VALUES('y', 1)"));
    return c.exec("INSERT INTO users(name, created_at) VALUES('y', 2)");
  });
  EXPECT_ERRC(dup, Errc::conflict);
  auto n = (*db)->read([](Connection& c) -> Result<std::int64_t> {
    auto st = c.prepare("SELECT COUNT(*) FROM users");
    if (!st.ok()) return st.error();
    TROUPE_TRY_STATUS(st->step());
    return st->col_int(0);
  });
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
}

TEST(SqliteDb, GroupCommitKeepsEachWriteOnItsOwn) {
  TempDir dir;
  auto db = SqliteDb::open(dir.path() + "/g.db");
  ASSERT_TRUE(db.ok());
  SqliteDb& d = **db;
  auto insert = [&](const std::string& name, bool fail) {
    return d.write([&](Connection& c) -> Status {
      auto st = c.prepare("INSERT INTO users(name, created_at) VALUES(?1, 1)");
      if (!st.ok()) return st.error();
      st->bind_text(1, name);
      TROUPE_TRY_STATUS(st->run());
      if (fail) return make_error(Errc::bad_request, "abort " + name);
      return {};
    });
  };
  // The first write holds the writer until the others have queued behind it, so they share the
  // next transaction; every third of them fails and must leave nothing behind.
  constexpr int kWriters = 9;
  std::atomic<int> started{0};
  std::thread first([&] {
    auto r = d.write([&](Connection& c) -> Status {
      while (started.load() < kWriters) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return c.exec("INSERT INTO users(name, created_at) VALUES('first', 1)");
    });
    EXPECT_TRUE(r.ok());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the first write is running
  std::vector<std::thread> writers;
  std::vector<Status> results(kWriters);
  for (int i = 0; i < kWriters; ++i) {
    writers.emplace_back([&, i] {
      started.fetch_add(1);
      results[i] = insert("w" + std::to_string(i), i % 3 == 0);
    });
  }
  first.join();
  for (auto& t : writers) t.join();
  for (int i = 0; i < kWriters; ++i) {
    if (i % 3 == 0) {
      EXPECT_ERRC(results[i], Errc::bad_request);
    } else {
      EXPECT_TRUE(results[i].ok()) << i;
    }
  }
  auto names = d.read([](Connection& c) -> Result<std::vector<std::string>> {
    auto st = c.prepare("SELECT name FROM users ORDER BY name");
    if (!st.ok()) return st.error();
    std::vector<std::string> out;
    for (;;) {
      auto row = st->step();
      if (!row.ok()) return row.error();
      if (!*row) return out;
      out.push_back(st->col_text(0));
    }
  });
  ASSERT_OK(names);
  EXPECT_EQ(*names, (std::vector<std::string>{"first", "w1", "w2", "w4", "w5", "w7", "w8"}));
  EXPECT_EQ(d.write_jobs(), 1u + kWriters);
  EXPECT_LE(d.write_groups(), 3u);  // the first alone, then the queued ones together
}

TEST(SqliteDb, ExceptionsBecomeInternalErrors) {
  TempDir dir;
  auto db = SqliteDb::open(dir.path() + "/e.db");
  ASSERT_TRUE(db.ok());
  auto r = (*db)->write([](Connection&) -> Status { throw std::runtime_error("boom"); });
  EXPECT_ERRC(r, Errc::internal);
  // The connection went back to the pool usable (the transaction was rolled back).
  ASSERT_OK((*db)->write([](Connection& c) {
    return c.exec("INSERT INTO users(name, created_at) VALUES('z', 1)");
  }));
}

TEST(SqliteDb, NestedUseOfOneStatementGetsAFreshCopy) {
  TempDir dir;
  auto db = SqliteDb::open(dir.path() + "/s.db");
  ASSERT_TRUE(db.ok());
  auto r = (*db)->read([](Connection& c) -> Result<std::int64_t> {
    auto a = c.prepare("SELECT ?1");
    if (!a.ok()) return a.error();
    a->bind_int(1, 20);
    TROUPE_TRY_STATUS(a->step());
    auto b = c.prepare("SELECT ?1");  // same SQL while `a` is still open
    if (!b.ok()) return b.error();
    b->bind_int(1, 22);
    TROUPE_TRY_STATUS(b->step());
    return a->col_int(0) + b->col_int(0);
  });
  ASSERT_OK(r);
  EXPECT_EQ(*r, 42);
}

TEST(SqliteDb, BusyWriteLockBecomesUnavailable) {
  TempDir dir;
  SqliteOptions opts;
  opts.busy_timeout_ms = 100;
  auto db = SqliteDb::open(dir.path() + "/b.db", opts);
  ASSERT_TRUE(db.ok());
  auto holder = (*db)->acquire();
  ASSERT_TRUE(holder.ok());
  Transaction tx(**holder);
  ASSERT_OK(tx.begin());
  auto r = (*db)->write([](Connection& c) {
    return c.exec("INSERT INTO users(name, created_at) VALUES('w', 1)");
  });
  EXPECT_ERRC(r, Errc::unavailable);
  // Readers are not blocked by the writer (WAL).
  auto n = (*db)->read([](Connection& c) -> Result<std::int64_t> {
    auto st = c.prepare("SELECT COUNT(*) FROM users");
    if (!st.ok()) return st.error();
    TROUPE_TRY_STATUS(st->step());
    return st->col_int(0);
  });
  ASSERT_OK(n);
}

TEST(SqliteDb, ExhaustedPoolBecomesUnavailable) {
  TempDir dir;
  SqliteOptions opts;
  opts.busy_timeout_ms = 50;
  opts.max_connections = 1;
  auto db = SqliteDb::open(dir.path() + "/p.db", opts);
  ASSERT_TRUE(db.ok());
  {
    auto only = (*db)->acquire();
    ASSERT_TRUE(only.ok());
    EXPECT_ERRC((*db)->acquire(), Errc::unavailable);
  }
  EXPECT_TRUE((*db)->acquire().ok());  // returned to the pool
}

TEST(SqliteDb, WritesDoNotWaitForAPooledConnection) {
  TempDir dir;
  SqliteOptions opts;
  opts.busy_timeout_ms = 50;
  opts.max_connections = 1;
  auto db = SqliteDb::open(dir.path() + "/w.db", opts);
  ASSERT_TRUE(db.ok());
  auto only = (*db)->acquire();  // every pooled connection is lent out
  ASSERT_TRUE(only.ok());
  auto r = (*db)->write([](Connection& c) {
    return c.exec("INSERT INTO users(name, created_at) VALUES('w', 1)");
  });
  ASSERT_OK(r);  // the writer has a connection of its own
  auto st = only.value()->prepare("SELECT COUNT(*) FROM users");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(st->step().ok());
  EXPECT_EQ(st->col_int(0), 1);
}

TEST(SqliteDb, WriteHistogramsSeeEveryWriteAndGroup) {
  TempDir dir;
  auto db = SqliteDb::open(dir.path() + "/h.db");
  ASSERT_TRUE(db.ok());
  Histogram wait({0.001, 1}), group({0.001, 1});
  (*db)->set_write_histograms(&wait, &group);
  constexpr int kWriters = 4, kEach = 5;
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = (*db)->write([&](Connection& c) {
          auto st = c.prepare("INSERT INTO users(name, created_at) VALUES(?1, 1)");
          if (!st.ok()) return Status(st.error());
          st->bind_text(1, "u" + std::to_string(t) + "_" + std::to_string(i));
          return st->run();
        });
        EXPECT_TRUE(r.ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wait.snapshot().count, std::uint64_t{kWriters * kEach});
  EXPECT_EQ(group.snapshot().count, (*db)->write_groups());
  EXPECT_GE(group.snapshot().count, 1u);
  EXPECT_GT(group.snapshot().sum, 0.0);
}

// Counts users with a fresh connection of its own (outside the pool and the writer).
std::int64_t count_users(const std::string& path) {
  auto c = Connection::open(path, 1000);
  if (!c.ok()) return -1;
  auto st = (*c)->prepare("SELECT COUNT(*) FROM users");
  if (!st.ok() || !st->step().ok()) return -1;
  return st->col_int(0);
}

TEST(SqliteDb, AsyncWriteCompletesAfterItsCommit) {
  TempDir dir;
  const std::string path = dir.path() + "/async.db";
  auto db = SqliteDb::open(path);
  ASSERT_TRUE(db.ok());
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::int64_t> seen;  // rows visible to another connection when each done ran
  std::vector<bool> ok;
  constexpr int kWrites = 20;
  for (int i = 0; i < kWrites; ++i) {
    (*db)->write_async(
        [i](Connection& c) -> Result<std::int64_t> {
          auto st = c.prepare("INSERT INTO users(name, created_at) VALUES(?1, 1)");
          if (!st.ok()) return st.error();
          st->bind_text(1, "a" + std::to_string(i));
          TROUPE_TRY_STATUS(st->run());
          return c.last_insert_id();
        },
        [&, path](Result<std::int64_t> r) {
          const std::int64_t visible = count_users(path);
          std::lock_guard lock(m);
          ok.push_back(r.ok() && *r > 0);
          seen.push_back(visible);
          cv.notify_one();
        });
  }
  std::unique_lock lock(m);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() == kWrites; }));
  for (int i = 0; i < kWrites; ++i) {
    EXPECT_TRUE(ok[i]);
    EXPECT_GE(seen[i], i + 1) << "a completion ran before its write was committed";
  }
}

TEST(SqliteDb, FailedAsyncWriteReportsItsErrorAndKeepsNothing) {
  TempDir dir;
  const std::string path = dir.path() + "/asyncfail.db";
  auto db = SqliteDb::open(path);
  ASSERT_TRUE(db.ok());
  std::promise<Status> failed;
  (*db)->write_async(
      [](Connection& c) -> Status {
        TROUPE_TRY_STATUS(c.exec("INSERT INTO users(name, created_at) VALUES('gone', 1)"));
        return make_error(Errc::conflict, "changed my mind");
      },
      [&](Status s) { failed.set_value(std::move(s)); });
  auto s = failed.get_future().get();
  EXPECT_ERRC(s, Errc::conflict);
  (*db)->flush_writes();
  EXPECT_EQ(count_users(path), 0);
  // A throwing write is an internal error, not a crash of the writer.
  std::promise<Status> thrown;
  (*db)->write_async([](Connection&) -> Status { throw std::runtime_error("boom"); },
                     [&](Status s2) { thrown.set_value(std::move(s2)); });
  EXPECT_ERRC(thrown.get_future().get(), Errc::internal);
}

TEST(SqliteDb, InMemoryDatabaseWorks) {
  FakeClock clock;
  auto s = SqliteStore::open(":memory:", clock);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_OK((*s)->users().create_user("mem", false, sha256_hex("m")));
  auto n = (*s)->users().count_users();
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
}

TEST(SqliteDb, BadPathIsAnError) {
  auto db = SqliteDb::open("/nonexistent-dir-for-troupe/x/y.db");
  EXPECT_FALSE(db.ok());
  EXPECT_FALSE(SqliteDb::open("").ok());
}

}  // namespace troupe::store::sqlite::testing
