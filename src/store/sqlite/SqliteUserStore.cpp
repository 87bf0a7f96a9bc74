#include "store/sqlite/SqliteUserStore.h"

#include "store/sqlite/SqliteDb.h"

namespace troupe::store::sqlite {
namespace {

bool is_sha256_hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status check_hash(const std::string& h) {
  if (!is_sha256_hex(h)) return make_error(Errc::bad_request, "token hash must be lower-case sha256 hex");
  return {};
}

User read_user(const Stmt& st) {
  User u;
  u.id = st.col_int(0);
  u.name = st.col_text(1);
  u.is_admin = st.col_int(2) != 0;
  u.created_at = st.col_int(3);
  return u;
}

Result<User> one_user(Result<Stmt> st, const char* what) {
  if (!st.ok()) return st.error();
  auto row = st->step();
  if (!row.ok()) return row.error();
  if (!*row) return make_error(Errc::not_found, what);
  return read_user(*st);
}

Status insert_token(Connection& c, Id user_id, const std::string& hash, std::int64_t now) {
  auto st = c.prepare("INSERT INTO tokens(token_sha256, user_id, created_at) VALUES(?1, ?2, ?3)");
  if (!st.ok()) return st.error();
  st->bind_text(1, hash).bind_int(2, user_id).bind_int(3, now);
  auto r = st->run();
  if (!r.ok() && r.error().code == Errc::conflict) {
    return make_error(Errc::conflict, "token already registered");
  }
  return r;
}

}  // namespace

Result<User> SqliteUserStore::create_user(const std::string& name, bool is_admin,
                                          const std::string& token_hash) {
  if (name.empty()) return make_error(Errc::bad_request, "user name is empty");
  TROUPE_TRY_STATUS(check_hash(token_hash));
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Result<User> {
    {
      auto exists = c.prepare("SELECT 1 FROM users WHERE name = ?1");
      if (!exists.ok()) return exists.error();
      exists->bind_text(1, name);
      auto row = exists->step();
      if (!row.ok()) return row.error();
      if (*row) return make_error(Errc::conflict, "user name already taken");
    }
    auto st = c.prepare("INSERT INTO users(name, is_admin, created_at) VALUES(?1, ?2, ?3)");
    if (!st.ok()) return st.error();
    st->bind_text(1, name).bind_int(2, is_admin ? 1 : 0).bind_int(3, now);
    TROUPE_TRY_STATUS(st->run());
    User u{c.last_insert_id(), name, is_admin, now};
    TROUPE_TRY_STATUS(insert_token(c, u.id, token_hash, now));
    return u;
  });
}

Status SqliteUserStore::add_token(Id user_id, const std::string& token_hash) {
  TROUPE_TRY_STATUS(check_hash(token_hash));
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](Connection& c) -> Status {
    auto st = c.prepare("SELECT 1 FROM users WHERE id = ?1");
    if (!st.ok()) return st.error();
    st->bind_int(1, user_id);
    auto row = st->step();
    if (!row.ok()) return row.error();
    if (!*row) return make_error(Errc::not_found, "user not found");
    return insert_token(c, user_id, token_hash, now);
  });
}

Result<User> SqliteUserStore::user_by_token_hash(const std::string& token_hash) {
  if (!is_sha256_hex(token_hash)) return make_error(Errc::not_found, "unknown token");
  return db_.read([&](Connection& c) -> Result<User> {
    auto st = c.prepare(
        "SELECT u.id, u.name, u.is_admin, u.created_at FROM tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_sha256 = ?1");
    if (st.ok()) st->bind_text(1, token_hash);
    return one_user(std::move(st), "unknown token");
  });
}

Result<User> SqliteUserStore::user_by_name(const std::string& name) {
  return db_.read([&](Connection& c) -> Result<User> {
    auto st = c.prepare("SELECT id, name, is_admin, created_at FROM users WHERE name = ?1");
    if (st.ok()) st->bind_text(1, name);
    return one_user(std::move(st), "user not found");
  });
}

Result<std::int64_t> SqliteUserStore::count_users() {
  return db_.read([&](Connection& c) -> Result<std::int64_t> {
    auto st = c.prepare("SELECT COUNT(*) FROM users");
    if (!st.ok()) return st.error();
    auto row = st->step();
    if (!row.ok()) return row.error();
    return st->col_int(0);
  });
}

Result<User> SqliteUserStore::get_user(Id id) {
  return db_.read([&](Connection& c) -> Result<User> {
    auto st = c.prepare("SELECT id, name, is_admin, created_at FROM users WHERE id = ?1");
    if (st.ok()) st->bind_int(1, id);
    return one_user(std::move(st), "user not found");
  });
}

Status SqliteUserStore::delete_user(Id id) {
  return db_.write([&](Connection& c) -> Status {
    // Foreign keys cascade from users to every table that holds their data.
    auto st = c.prepare("DELETE FROM users WHERE id = ?1");
    if (!st.ok()) return st.error();
    st->bind_int(1, id);
    TROUPE_TRY_STATUS(st->run());
    if (c.changes() == 0) return make_error(Errc::not_found, "user not found");
    return {};
  });
}

}  // namespace troupe::store::sqlite
