// GenerationManager, part two: the chat leases of generations across nodes (taking a chat's
// lease, reacting to its loss) and what the sweeper asks about generations running here.
#include <spdlog/spdlog.h>

#include "chat/GenerationManager.h"
#include "core/Offload.h"

namespace troupe::chat {

namespace asio = boost::asio;

asio::awaitable<Status> GenerationManager::acquire_lease(store::Id chat_id) {
  auto got = co_await leases_->acquire(chat_id);
  if (!got.ok()) co_return got.error();
  std::shared_ptr<sync::ChatLease> lease = std::move(got).value();
  {
    std::lock_guard lock(mu_);
    auto it = by_chat_.find(chat_id);
    if (it == by_chat_.end() || it->second.launched || it->second.lease) {
      lease->release_detached();
      co_return make_error(Errc::internal, "chat lease taken without a reservation");
    }
    it->second.lease = lease;
  }
  lease->keep([alive = alive_, chat_id, raw = lease.get()] {
    std::lock_guard lock(alive->mu);
    if (alive->gm) alive->gm->lease_lost(chat_id, raw);
  });
  if (leases_->shared() && lease->confirmed()) {
    // This node runs nothing in the chat and now holds its lease: whatever still "runs" there in
    // the store belongs to a node that died. (Not with a provisional lease: the generation may
    // be alive on a node that could not reach Redis either; the store then answers conflict.)
    auto n = co_await offload(deps_.db_pool, [this, chat_id] {
      return dead_.interrupt_chat(chat_id, "the node running it stopped");
    });
    if (!n.ok()) spdlog::warn("chat {}: dead generations not checked: {}", chat_id, n.error().message);
  }
  co_return Status{};
}

void GenerationManager::lease_lost(store::Id chat_id, const sync::ChatLease* lease) {
  std::uint64_t task_id = 0;
  {
    std::lock_guard lock(mu_);
    auto it = by_chat_.find(chat_id);
    if (it == by_chat_.end() || it->second.lease.get() != lease) return;
    it->second.lease_lost = true;
    it->second.interrupted = true;
    task_id = it->second.task_id;
  }
  if (lease_losses_) lease_losses_->inc();
  if (task_id) scope_->cancel_task(task_id);
}

bool GenerationManager::lost_lease(store::Id chat_id) const {
  std::lock_guard lock(mu_);
  auto it = by_chat_.find(chat_id);
  return it != by_chat_.end() && it->second.lease_lost;
}

std::shared_ptr<sync::ChatLease> GenerationManager::lease_of(store::Id chat_id) const {
  std::lock_guard lock(mu_);
  auto it = by_chat_.find(chat_id);
  return it == by_chat_.end() ? nullptr : it->second.lease;
}

bool GenerationManager::runs_generation(store::Id generation_id) const {
  std::lock_guard lock(mu_);
  return chat_of_generation_.count(generation_id) != 0;
}

}  // namespace troupe::chat
