#include "store/postgres/PgUserStore.h"

#include <algorithm>

#include "store/postgres/PgDb.h"

namespace troupe::store::postgres {
namespace {

bool lower_hex_sha256(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char ch) {
           return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
         });
}

Status check_hash(const std::string& h) {
  if (!lower_hex_sha256(h)) {
    return make_error(Errc::bad_request, "token hash must be lower-case sha256 hex");
  }
  return {};
}

Result<User> one_user(Result<PgResult> r, const char* what) {
  if (!r.ok()) return r.error();
  if (r->empty()) return make_error(Errc::not_found, what);
  return User{r->col_int(0, 0), r->col_text(0, 1), r->col_int(0, 2) != 0, r->col_int(0, 3)};
}

Status insert_token(PgConnection& c, Id user_id, const std::string& hash, std::int64_t now) {
  // ON CONFLICT keeps the transaction usable and tells a duplicate apart from other failures.
  auto r = c.query(
      "INSERT INTO tokens(token_sha256, user_id, created_at) VALUES($1, $2, $3) "
      "ON CONFLICT (token_sha256) DO NOTHING",
      {hash, user_id, now});
  if (!r.ok()) return r.error();
  if (r->affected() == 0) return make_error(Errc::conflict, "token already registered");
  return {};
}

}  // namespace

Result<User> PgUserStore::create_user(const std::string& name, bool is_admin,
                                      const std::string& token_hash) {
  if (name.empty()) return make_error(Errc::bad_request, "user name is empty");
  TROUPE_TRY_STATUS(check_hash(token_hash));
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Result<User> {
    auto r = c.query(
        "INSERT INTO users(name, is_admin, created_at) VALUES($1, $2::int::boolean, $3) "
        "ON CONFLICT (name) DO NOTHING RETURNING id",
        {name, is_admin ? 1 : 0, now});
    if (!r.ok()) return r.error();
    if (r->empty()) return make_error(Errc::conflict, "user name already taken");
    User u{r->col_int(0, 0), name, is_admin, now};
    TROUPE_TRY_STATUS(insert_token(c, u.id, token_hash, now));
    return u;
  });
}

Status PgUserStore::add_token(Id user_id, const std::string& token_hash) {
  TROUPE_TRY_STATUS(check_hash(token_hash));
  const std::int64_t now = clock_.now_ms();
  return db_.write([&](PgConnection& c) -> Status {
    auto r = c.query("SELECT 1 FROM users WHERE id = $1", {user_id});
    if (!r.ok()) return r.error();
    if (r->empty()) return make_error(Errc::not_found, "user not found");
    return insert_token(c, user_id, token_hash, now);
  });
}

Result<User> PgUserStore::user_by_token_hash(const std::string& token_hash) {
  if (!lower_hex_sha256(token_hash)) return make_error(Errc::not_found, "unknown token");
  return db_.read([&](PgConnection& c) -> Result<User> {
    return one_user(c.query("SELECT u.id, u.name, u.is_admin, u.created_at FROM tokens t "
                            "JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = $1",
                            {token_hash}),
                    "unknown token");
  });
}

Result<User> PgUserStore::user_by_name(const std::string& name) {
  return db_.read([&](PgConnection& c) -> Result<User> {
    return one_user(
        c.query("SELECT id, name, is_admin, created_at FROM users WHERE name = $1", {name}),
        "user not found");
  });
}

Result<std::int64_t> PgUserStore::count_users() {
  return db_.read([&](PgConnection& c) -> Result<std::int64_t> {
    auto r = c.query("SELECT COUNT(*) FROM users");
    if (!r.ok()) return r.error();
    return r->col_int(0, 0);
  });
}

Result<User> PgUserStore::get_user(Id id) {
  return db_.read([&](PgConnection& c) -> Result<User> {
    return one_user(
        c.query("SELECT id, name, is_admin, created_at FROM users WHERE id = $1", {id}),
        "user not found");
  });
}

Status PgUserStore::delete_user(Id id) {
  return db_.write([&](PgConnection& c) -> Status {
    // Foreign keys cascade from users to every table that holds their data.
    auto r = c.query("DELETE FROM users WHERE id = $1", {id});
    if (!r.ok()) return r.error();
    if (r->affected() == 0) return make_error(Errc::not_found, "user not found");
    return {};
  });
}

}  // namespace troupe::store::postgres
