// WalWriteVfs against real files: the commit's WAL frames are written in one call, other
// connections (default VFS, other threads, other processes) see exactly what was committed, a
// crash keeps every commit, and a failed write surfaces as a failed commit that loses nothing.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <string>
#include <thread>

#include "StoreTestUtil.h"
#include "store/sqlite/Connection.h"
#include "store/sqlite/WalWriteVfs.h"

namespace troupe::store::sqlite::testing {
namespace {

std::unique_ptr<Connection> open_conn(const std::string& path, bool coalesce) {
  auto c = Connection::open(path, 5000, coalesce);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? std::move(*c) : nullptr;
}

// Row i's payload: `bytes` bytes that depend on i, so a stale or torn page shows.
std::string payload(std::int64_t i, int bytes) {
  std::string s(static_cast<std::size_t>(bytes), '\0');
  for (std::size_t k = 0; k < s.size(); ++k) s[k] = static_cast<char>('a' + (i * 7 + k) % 26);
  return s;
}

void insert(Connection& c, std::int64_t i, int bytes) {
  auto st = c.prepare("INSERT INTO t(id, body) VALUES(?1, ?2)");
  ASSERT_TRUE(st.ok());
  st->bind_int(1, i).bind_blob(2, payload(i, bytes));
  Status r = st->run();
  ASSERT_TRUE(r.ok()) << r.error().message;
}

std::int64_t scalar(Connection& c, const std::string& sql) {
  auto st = c.prepare(sql);
  if (!st.ok()) return -1;
  auto r = st->step();
  if (!r.ok() || !*r) return -1;
  return st->col_int(0);
}

std::string integrity(Connection& c) {
  auto st = c.prepare("PRAGMA integrity_check");
  if (!st.ok()) return "prepare failed";
  auto r = st->step();
  return r.ok() && *r ? st->col_text(0) : "step failed";
}

// Every row present has the payload its id implies.
bool rows_intact(Connection& c, int bytes) {
  auto st = c.prepare("SELECT id, body FROM t");
  if (!st.ok()) return false;
  for (;;) {
    auto r = st->step();
    if (!r.ok()) return false;
    if (!*r) return true;
    if (st->col_blob(1) != payload(st->col_int(0), bytes)) return false;
  }
}

struct Fixture {
  TempDir dir;
  std::string path = dir.path() + "/wal.db";
  std::unique_ptr<Connection> writer = open_conn(path, true);
  Fixture() {
    EXPECT_TRUE(writer->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)").ok());
  }
};

TEST(WalWriteVfs, CommitWritesItsFramesInOneCall) {
  ASSERT_NE(WalWriteVfs::ensure_registered(), nullptr);
  Fixture f;
  auto& counters = WalWriteVfs::counters();
  const auto buffered0 = counters.buffered_writes.load();
  const auto flushes0 = counters.flushes.load();
  const auto syncs0 = counters.wal_syncs.load();
  ASSERT_TRUE(f.writer->exec("BEGIN IMMEDIATE").ok());
  for (int i = 0; i < 20; ++i) insert(*f.writer, i, 3000);  // ~20 pages, two writes per frame
  ASSERT_TRUE(f.writer->exec("COMMIT").ok());
  EXPECT_GE(counters.buffered_writes.load() - buffered0, 40u);
  EXPECT_EQ(counters.flushes.load() - flushes0, 1u);
  // The commit's fsync (synchronous=FULL) came after the frames were written, not before.
  EXPECT_GE(counters.wal_syncs.load() - syncs0, 1u);
  EXPECT_EQ(counters.syncs_with_buffered_bytes.load(), 0u);
  auto reader = open_conn(f.path, false);
  EXPECT_EQ(scalar(*reader, "SELECT COUNT(*) FROM t"), 20);
  EXPECT_TRUE(rows_intact(*reader, 3000));
}

TEST(WalWriteVfs, ReadersOnOtherThreadsSeeEveryCommitWhole) {
  Fixture f;
  constexpr int kCommits = 400;
  constexpr int kBytes = 1500;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<int> reads{0};
  std::thread reader([&] {
    auto r = open_conn(f.path, false);
    std::int64_t last = 0;
    while (!done.load()) {
      std::int64_t n = scalar(*r, "SELECT COUNT(*) FROM t");
      if (n < last || !rows_intact(*r, kBytes)) ++bad;
      last = n;
      ++reads;
    }
  });
  for (int i = 0; i < kCommits; ++i) {
    ASSERT_TRUE(f.writer->exec("BEGIN IMMEDIATE").ok());
    insert(*f.writer, 2 * i, kBytes);
    insert(*f.writer, 2 * i + 1, kBytes);
    ASSERT_TRUE(f.writer->exec("COMMIT").ok());
  }
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
  auto check = open_conn(f.path, false);
  EXPECT_EQ(scalar(*check, "SELECT COUNT(*) FROM t"), 2 * kCommits);
  EXPECT_EQ(integrity(*check), "ok");
}

TEST(WalWriteVfs, TransactionsLargerThanTheBufferAndRollbacksStayCorrect) {
  Fixture f;
  // A small page cache makes SQLite spill frames to the WAL before the commit.
  ASSERT_TRUE(f.writer->exec("PRAGMA cache_size=20").ok());
  constexpr int kBytes = 4000;
  const int rows = static_cast<int>(3 * WalWriteVfs::kMaxBuffer / kBytes);  // ~3 buffers
  ASSERT_TRUE(f.writer->exec("BEGIN IMMEDIATE").ok());
  for (int i = 0; i < rows; ++i) insert(*f.writer, i, kBytes);
  ASSERT_TRUE(f.writer->exec("COMMIT").ok());
  ASSERT_TRUE(f.writer->exec("BEGIN IMMEDIATE").ok());
  for (int i = rows; i < 2 * rows; ++i) insert(*f.writer, i, kBytes);
  ASSERT_TRUE(f.writer->exec("ROLLBACK").ok());
  ASSERT_TRUE(f.writer->exec("BEGIN IMMEDIATE").ok());
  insert(*f.writer, 2 * rows, kBytes);
  ASSERT_TRUE(f.writer->exec("COMMIT").ok());
  ASSERT_TRUE(f.writer->exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  insert(*f.writer, 2 * rows + 1, kBytes);  // first frames of a restarted WAL
  auto reader = open_conn(f.path, false);
  EXPECT_EQ(scalar(*reader, "SELECT COUNT(*) FROM t"), rows + 2);
  EXPECT_EQ(scalar(*reader, "SELECT COUNT(*) FROM t WHERE id >= " + std::to_string(rows)), 2);
  EXPECT_TRUE(rows_intact(*reader, kBytes));
  EXPECT_EQ(integrity(*reader), "ok");
}

TEST(WalWriteVfs, AProcessKilledAfterItsCommitsKeepsThemAll) {
  TempDir dir;
  const std::string path = dir.path() + "/crash.db";
  constexpr int kCommits = 50;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto c = Connection::open(path, 5000, true);
    if (!c.ok() || !(*c)->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)").ok()) _exit(2);
    for (int i = 0; i < kCommits; ++i) {
      auto st = (*c)->prepare("INSERT INTO t(id, body) VALUES(?1, ?2)");
      if (!st.ok()) _exit(3);
      st->bind_int(1, i).bind_blob(2, payload(i, 2500));
      if (!st->run().ok()) _exit(4);
    }
    // An open transaction with frames still buffered, then death without any cleanup.
    (void)(*c)->exec("PRAGMA cache_size=5");
    (void)(*c)->exec("BEGIN IMMEDIATE");
    for (int i = kCommits; i < kCommits + 100; ++i) {
      auto st = (*c)->prepare("INSERT INTO t(id, body) VALUES(?1, ?2)");
      if (!st.ok()) _exit(5);
      st->bind_int(1, i).bind_blob(2, payload(i, 2500));
      (void)st->run();
    }
    raise(SIGKILL);
    _exit(6);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  auto c = open_conn(path, false);
  EXPECT_EQ(scalar(*c, "SELECT COUNT(*) FROM t"), kCommits);
  EXPECT_TRUE(rows_intact(*c, 2500));
  EXPECT_EQ(integrity(*c), "ok");
}

// The default VFS's pwrite, replaced for one test: fails with ENOSPC while `g_fail` is set.
// Depending on how SQLite was built it calls "pwrite64" or "pwrite"; both are replaced.
std::atomic<bool> g_fail{false};
sqlite3_syscall_ptr g_real[2] = {nullptr, nullptr};
const char* const kPwriteNames[2] = {"pwrite", "pwrite64"};
template <int I>
ssize_t failing_pwrite(int fd, const void* buf, size_t n, off_t off) {
  if (g_fail.load()) {
    errno = ENOSPC;
    return -1;
  }
  return reinterpret_cast<ssize_t (*)(int, const void*, size_t, off_t)>(g_real[I])(fd, buf, n, off);
}

TEST(WalWriteVfs, AFailedWriteFailsTheCommitAndLosesNothingStored) {
  Fixture f;
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  ASSERT_NE(base, nullptr);
  ASSERT_GE(base->iVersion, 3);
  const sqlite3_syscall_ptr fakes[2] = {reinterpret_cast<sqlite3_syscall_ptr>(failing_pwrite<0>),
                                        reinterpret_cast<sqlite3_syscall_ptr>(failing_pwrite<1>)};
  int replaced = 0;
  for (int i = 0; i < 2; ++i) {
    g_real[i] = base->xGetSystemCall(base, kPwriteNames[i]);
    if (g_real[i] != nullptr && base->xSetSystemCall(base, kPwriteNames[i], fakes[i]) == SQLITE_OK) {
      ++replaced;
    }
  }
  ASSERT_GT(replaced, 0);

  for (int i = 0; i < 5; ++i) insert(*f.writer, i, 2000);  // stored before the failure
  const auto failed0 = WalWriteVfs::counters().failed_flushes.load();
  ASSERT_TRUE(f.writer->exec("BEGIN IMMEDIATE").ok());
  for (int i = 5; i < 10; ++i) insert(*f.writer, i, 2000);
  g_fail = true;
  Status commit = f.writer->exec("COMMIT");
  g_fail = false;
  EXPECT_FALSE(commit.ok());
  EXPECT_GT(WalWriteVfs::counters().failed_flushes.load(), failed0);
  if (f.writer->in_transaction()) (void)f.writer->exec("ROLLBACK");
  insert(*f.writer, 100, 2000);  // the connection works again

  for (int i = 0; i < 2; ++i) {
    if (g_real[i] != nullptr) base->xSetSystemCall(base, kPwriteNames[i], g_real[i]);
  }
  auto reader = open_conn(f.path, false);
  EXPECT_EQ(scalar(*reader, "SELECT COUNT(*) FROM t WHERE id < 5"), 5);
  EXPECT_EQ(scalar(*reader, "SELECT COUNT(*) FROM t WHERE id BETWEEN 5 AND 9"), 0);
  EXPECT_EQ(scalar(*reader, "SELECT COUNT(*) FROM t WHERE id = 100"), 1);
  EXPECT_TRUE(rows_intact(*reader, 2000));
  EXPECT_EQ(integrity(*reader), "ok");
}

}  // namespace
}  // namespace troupe::store::sqlite::testing
