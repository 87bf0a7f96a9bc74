#include "sync/LocalChatLeases.h"

namespace troupe::sync {

namespace {

class LocalChatLease final : public ChatLease {
 public:
  void keep(std::function<void()>) override {}
  boost::asio::awaitable<Status> release() override { co_return Status{}; }
  void release_detached() override {}
  std::int64_t fence() const override { return 0; }
};

}  // namespace

boost::asio::awaitable<Result<std::shared_ptr<ChatLease>>> LocalChatLeases::acquire(std::int64_t) {
  co_return std::shared_ptr<ChatLease>(std::make_shared<LocalChatLease>());
}

boost::asio::awaitable<Result<bool>> LocalChatLeases::held(std::int64_t) { co_return false; }

}  // namespace troupe::sync
