#include "app/StoreWiring.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <vector>

#include "store/postgres/PgStore.h"
#include "store/sqlite/SqliteDb.h"
#include "store/sqlite/SqliteStore.h"
#include "store/sqlite/WalWriteVfs.h"

namespace troupe::app {

bool StoreWiring::is_postgres_url(const std::string& url) {
  return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

Result<std::unique_ptr<StoreWiring>> StoreWiring::open(const Config& config, const Clock& clock) {
  std::unique_ptr<StoreWiring> w(new StoreWiring());
  const std::string& url = config.store.url;
  // The data dir also holds admin.token (and the node-local memory index files).
  std::error_code fec;
  std::filesystem::create_directories(config.store.data_dir, fec);
  if (fec) {
    return make_error(Errc::unavailable,
                      "cannot create data dir " + config.store.data_dir + ": " + fec.message());
  }
  if (is_postgres_url(url)) {
    auto pg = store::postgres::PgStore::open(url, clock, std::clamp(config.store.db_threads, 1, 64));
    if (!pg.ok()) {
      return make_error(pg.error().code, "cannot open the PostgreSQL store: " + pg.error().message);
    }
    w->pg_ = std::move(pg).value();
    return w;
  }
  if (!url.empty() && url != "sqlite") {
    return make_error(Errc::bad_request,
                      "store.url must be \"\", \"sqlite\" or postgres://...; got \"" + url + "\"");
  }
  auto db_path = (std::filesystem::path(config.store.data_dir) / "troupe.db").string();
  store::sqlite::SqliteOptions opts;
  // Every DB thread can hold a reader connection, plus a few for the memory engine's threads.
  opts.max_connections = std::max(opts.max_connections, std::clamp(config.store.db_threads, 1, 64) + 4);
  opts.coalesce_wal_writes = config.store.sqlite_coalesce_wal;
  auto s = store::sqlite::SqliteStore::open(db_path, clock, opts);
  if (!s.ok()) return s.error();
  w->sqlite_ = std::move(s).value();
  return w;
}

StoreWiring::~StoreWiring() = default;

store::UserStore& StoreWiring::users() { return pg_ ? pg_->users() : sqlite_->users(); }
store::CharacterStore& StoreWiring::characters() {
  return pg_ ? pg_->characters() : sqlite_->characters();
}
store::ChatStore& StoreWiring::chats() { return pg_ ? pg_->chats() : sqlite_->chats(); }
store::MemoryStore* StoreWiring::memories() {
  return pg_ ? &pg_->memories() : &sqlite_->memories();
}

std::string StoreWiring::health() const {
  return pg_ ? pg_->db().health() : std::string();
}

void StoreWiring::flush_writes() {
  if (sqlite_) sqlite_->db().flush_writes();
}

void StoreWiring::register_metrics(MetricsRegistry& metrics) {
  if (!sqlite_) return;
  auto* db = &sqlite_->db();
  metrics.collect("troupe_db_write_commits", "Write transactions committed (each a group of writes, one fsync).", [db] {
    return std::vector<std::pair<MetricsRegistry::Labels, double>>{{{}, double(db->write_groups())}};
  });
  // Finer than the request buckets: a group commit is a few hundred microseconds to milliseconds.
  const std::vector<double> fine{0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008,
                                 0.016,  0.032,   0.064,  0.128, 0.5,   2};
  db->set_write_histograms(
      &metrics.histogram("troupe_db_write_wait_seconds",
                         "Time a write waited for its group commit to start (behind the running one).",
                         {}, fine),
      &metrics.histogram("troupe_db_write_group_seconds",
                         "Time one group commit ran: its writes, COMMIT with the WAL fsync, and any automatic checkpoint.",
                         {}, fine));
  metrics.collect("troupe_db_writes_committed", "Writes carried by those commits (failed ones rolled back to their savepoint included).", [db] {
    return std::vector<std::pair<MetricsRegistry::Labels, double>>{{{}, double(db->write_jobs())}};
  });
  // The writer's WAL write layer (store.sqlite_coalesce_wal): SQLite's writes it buffered, and
  // the buffers it wrote (about one per commit); their ratio is the system calls saved.
  auto wal_counter = [&metrics](const char* name, const char* help,
                                const std::atomic<std::uint64_t>& c) {
    metrics.collect(name, help, [&c] {
      return std::vector<std::pair<MetricsRegistry::Labels, double>>{
          {{}, double(c.load(std::memory_order_relaxed))}};
    });
  };
  auto& wal = store::sqlite::WalWriteVfs::counters();
  wal_counter("troupe_db_wal_appends_buffered",
              "WAL writes of the SQLite writer taken into its write buffer (two per page).",
              wal.buffered_writes);
  wal_counter("troupe_db_wal_buffer_writes",
              "Write buffers handed to the WAL file (about one per commit).", wal.flushes);
  wal_counter("troupe_db_wal_buffer_write_failures",
              "Write buffers the WAL file refused (each fails the commit that needed it).",
              wal.failed_flushes);
}

}  // namespace troupe::app
