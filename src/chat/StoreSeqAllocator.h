// StoreSeqAllocator: sync::SeqAllocator backed by the chat store's reserved high-water marks.
// Thread-safety: as the ChatStore: any non-I/O thread, blocking.
#pragma once

#include "store/ChatStore.h"
#include "sync/EventBus.h"

namespace troupe::chat {

class StoreSeqAllocator final : public sync::SeqAllocator {
 public:
  explicit StoreSeqAllocator(store::ChatStore& chats) : chats_(chats) {}
  Result<std::int64_t> reserve(std::int64_t chat_id, std::int64_t count) override {
    return chats_.reserve_seq(chat_id, count);
  }

 private:
  store::ChatStore& chats_;
};

}  // namespace troupe::chat
