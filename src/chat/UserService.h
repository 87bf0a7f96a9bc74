// UserService: deleting a user with everything of theirs. Their tokens stop working at once; their
// running generations are stopped; each chat is removed as a chat delete would (events stream
// closed, memories dropped from the indexes and caches); their memory spaces are forgotten; then
// one store transaction deletes the user and every remaining row of theirs.
// Thread-safety: all members may be called concurrently from coroutines on any I/O executor.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "chat/AuthService.h"
#include "chat/ChatService.h"
#include "chat/Deps.h"
#include "chat/GenerationManager.h"

namespace troupe::chat {

class UserService {
 public:
  UserService(Deps deps, GenerationManager& generations, AuthService& auth, ChatService& chats)
      : d_(deps), gm_(generations), auth_(auth), chats_(chats) {}

  // Admin only (forbidden otherwise); an administrator cannot delete their own user
  // (bad_request); an unknown id is not_found.
  boost::asio::awaitable<Status> remove(const store::User& caller, store::Id user_id);

 private:
  // Stops the chat's running generation, if any, and waits (bounded) until it has been stored.
  boost::asio::awaitable<void> stop_generation(store::Id chat_id);

  Deps d_;
  GenerationManager& gm_;
  AuthService& auth_;
  ChatService& chats_;
};

}  // namespace troupe::chat
