// AuthService: bearer tokens → users (tokens are stored as SHA-256 only), user creation and the
// first-start admin bootstrap. Successful lookups are cached briefly (in memory, by token) to keep
// the store and the hash off the hot path.
// Thread-safety: all members are safe to call from any thread / coroutine.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "chat/Deps.h"

namespace troupe::chat {

struct NewUser {
  store::User user;
  std::string token;  // shown once; only its hash is stored
};

class AuthService {
 public:
  explicit AuthService(Deps deps) : d_(deps) {}

  boost::asio::awaitable<Result<store::User>> authenticate(std::string_view token);
  // Blocking (CLI and start-up): creates a user with a fresh token.
  Result<NewUser> create_user(const std::string& name, bool admin);
  // Blocking: on an empty store creates "admin" and returns its token; otherwise nullopt.
  Result<std::optional<NewUser>> bootstrap();
  // A user is being deleted: from now on their tokens answer unauthorized in this process (cached
  // lookups included), even before the store has removed them. Ids are never reused.
  void revoke_user(store::Id user_id);

 private:
  struct Cached {
    store::User user;
    std::chrono::steady_clock::time_point expires;
  };
  Deps d_;
  std::mutex mu_;
  // By token (heterogeneous lookup: no copy of the request's token to look it up).
  struct TokenHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view t) const noexcept { return std::hash<std::string_view>{}(t); }
  };
  std::unordered_map<std::string, Cached, TokenHash, std::equal_to<>> cache_;
  std::unordered_set<store::Id> revoked_;          // deleted users (at most kMaxRevoked)
};

}  // namespace troupe::chat
