// LocalChatLeases: ChatLeases for a single node. Every acquire() is granted at once and nothing
// renews or expires; the GenerationManager's map is what keeps one generation per chat.
// Thread-safety: every member may be called from any thread.
#pragma once

#include "sync/ChatLeases.h"

namespace troupe::sync {

class LocalChatLeases final : public ChatLeases {
 public:
  boost::asio::awaitable<Result<std::shared_ptr<ChatLease>>> acquire(std::int64_t chat_id) override;
  boost::asio::awaitable<Result<bool>> held(std::int64_t chat_id) override;
  bool shared() const override { return false; }
  std::chrono::milliseconds ttl() const override { return std::chrono::milliseconds::max(); }
};

}  // namespace troupe::sync
