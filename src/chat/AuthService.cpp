#include "chat/AuthService.h"

#include "core/Crypto.h"
#include "core/Offload.h"

namespace troupe::chat {

namespace asio = boost::asio;

namespace {
constexpr auto kCacheTtl = std::chrono::seconds(30);
constexpr std::size_t kCacheMax = 10000;
// Deleted users remembered in memory; beyond it the oldest knowledge is dropped, which is safe
// once the store has deleted their tokens (the store lookup then fails anyway).
constexpr std::size_t kMaxRevoked = 100000;
}  // namespace

asio::awaitable<Result<store::User>> AuthService::authenticate(std::string_view token) {
  if (token.empty() || token.size() > 200) {
    co_return make_error(Errc::unauthorized, "missing or malformed bearer token");
  }
  auto now = std::chrono::steady_clock::now();
  {
    // Keyed by the token itself: a cached token costs no SHA-256 (only the store keeps hashes).
    std::lock_guard lock(mu_);
    auto it = cache_.find(token);
    if (it != cache_.end() && it->second.expires > now) {
      if (revoked_.count(it->second.user.id)) co_return make_error(Errc::unauthorized, "unknown bearer token");
      co_return it->second.user;
    }
  }
  std::string hash = sha256_hex(token);
  auto user = co_await offload(d_.db_pool, [&] { return d_.users.user_by_token_hash(hash); });
  if (!user.ok()) {
    if (user.error().code == Errc::not_found) {
      co_return make_error(Errc::unauthorized, "unknown bearer token");
    }
    co_return user.error();
  }
  std::lock_guard lock(mu_);
  if (revoked_.count(user->id)) co_return make_error(Errc::unauthorized, "unknown bearer token");
  if (cache_.size() >= kCacheMax) cache_.clear();
  cache_[std::string(token)] = Cached{*user, now + kCacheTtl};
  co_return user;
}

void AuthService::revoke_user(store::Id user_id) {
  std::lock_guard lock(mu_);
  if (revoked_.size() >= kMaxRevoked) revoked_.clear();
  revoked_.insert(user_id);
  std::erase_if(cache_, [&](const auto& kv) { return kv.second.user.id == user_id; });
}

Result<NewUser> AuthService::create_user(const std::string& name, bool admin) {
  if (name.empty() || name.size() > 100) {
    return make_error(Errc::bad_request, "user name must be 1-100 characters");
  }
  NewUser out;
  out.token = random_token("trp_");
  auto u = d_.users.create_user(name, admin, sha256_hex(out.token));
  if (!u.ok()) return u.error();
  out.user = std::move(u).value();
  return out;
}

Result<std::optional<NewUser>> AuthService::bootstrap() {
  auto n = d_.users.count_users();
  if (!n.ok()) return n.error();
  if (*n > 0) return std::optional<NewUser>();
  auto u = create_user("admin", true);
  if (!u.ok()) return u.error();
  return std::optional<NewUser>(std::move(u).value());
}

}  // namespace troupe::chat
