// ChatService: chats, their history and the message tree (edit, delete, select swipe, branch),
// and event subscriptions. Every change is stored before it is published.
// Thread-safety: all members may be called concurrently from coroutines on any I/O executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <optional>

#include "chat/Deps.h"
#include "chat/GenerationManager.h"
#include "store/ChatStore.h"

namespace troupe::chat {

struct ChatView {
  store::Chat chat;
  std::optional<store::Generation> running;
  std::int64_t last_seq = 0;
};

class ChatService {
 public:
  ChatService(Deps deps, GenerationManager& generations) : d_(deps), gm_(generations) {}

  boost::asio::awaitable<Result<ChatView>> create(const store::User& user, store::Id character_id,
                                                  store::Id persona_id, std::string title);
  boost::asio::awaitable<Result<ChatView>> get(const store::User& user, store::Id chat_id);
  boost::asio::awaitable<Result<std::vector<ChatView>>> list(const store::User& user,
                                                             store::Id character_id,
                                                             store::Id after, int limit);
  boost::asio::awaitable<Status> remove(const store::User& user, store::Id chat_id);
  boost::asio::awaitable<Result<store::PathPage>> messages(const store::User& user,
                                                           store::Id chat_id, store::Id before,
                                                           int limit);

  boost::asio::awaitable<Result<store::Message>> edit(const store::User& user, store::Id id,
                                                      std::string content);
  boost::asio::awaitable<Status> remove_message(const store::User& user, store::Id id);
  // The message's siblings (swipes) in order and the selected one; others' ids: not_found.
  boost::asio::awaitable<Result<store::Siblings>> siblings(const store::User& user, store::Id id);
  boost::asio::awaitable<Result<ChatView>> select(const store::User& user, store::Id id);
  // A new chat holding the path up to message `id`, stored with its first seq block like create().
  boost::asio::awaitable<Result<ChatView>> branch(const store::User& user, store::Id id);

  // The chat's memory space ranked for `query` (limit 1..200), flagging memories a turn would
  // skip because they are in its prompt window. Another user's chat: not_found.
  boost::asio::awaitable<Result<memory::RetrievalResult>> memories(const store::User& user,
                                                                   store::Id chat_id,
                                                                   std::string query, int limit);

  // Subscribes `ex`'s connection to a chat's events after `after_seq` (404 for others' chats).
  boost::asio::awaitable<Result<std::shared_ptr<sync::Subscription>>> subscribe(
      const store::User& user, store::Id chat_id, std::int64_t after_seq);

 private:
  ChatView view(store::Chat chat);
  void publish_chat_updated(const store::Chat& chat);
  Deps d_;
  GenerationManager& gm_;
};

}  // namespace troupe::chat
