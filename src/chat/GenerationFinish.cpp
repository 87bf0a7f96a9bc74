// GenerationManager, part three: a generation's last step — its final state stored, the
// `generation.finished` event published and the chat released, in that order.
#include <spdlog/spdlog.h>

#include "chat/GenerationManager.h"
#include "core/AwaitCompletion.h"
#include "core/Offload.h"

namespace troupe::chat {

namespace asio = boost::asio;

asio::awaitable<void> GenerationManager::store_and_announce(GenerationManager* self,
                                                            store::Generation& gen,
                                                            const store::Message& reply,
                                                            const std::string& status,
                                                            const std::string& content,
                                                            const std::string& error,
                                                            HistoryPath* cache_path,
                                                            HistoryCache::Ticket ticket,
                                                            bool already_stored) {
  const Deps& d = self->deps_;
  // Store, announce and release the chat back to back (on the DB thread, or on this thread as
  // soon as an asynchronous store committed), so a client that sees the stored status or the
  // finished event can start the next turn at once.
  // With shared leases the chat's lease is given back between storing and announcing: only after
  // the final state is stored, and before any client can react to the announcement on another node.
  auto lease = self->lease_of(gen.chat_id);
  const bool shared_lease = lease && self->leases_->shared();
  bool announce = true;
  auto announce_and_free = [&] {
    if (announce) {
      gen.finished_at = d.clock.now_ms();
      auto ev = d.bus.publish(gen.chat_id, "generation.finished", d.fmt.finished(gen, reply));
      if (!ev.ok()) spdlog::warn("chat {}: finish event not published", gen.chat_id);
    }
    self->finished(gen.chat_id);
    return Status{};
  };
  auto after_save = [&](Status saved, bool last_attempt) {
    if (!saved.ok() && saved.error().code == Errc::conflict) {
      // Already final: another node took over the chat after this node lost its lease, and
      // stored and announced the generation as interrupted.
      spdlog::warn("generation {}: already finished elsewhere; {} state not stored", gen.id, status);
      announce = false;
    } else if (!saved.ok()) {
      spdlog::error("generation {}: final state not stored: {}", gen.id, saved.error().message);
      if (!last_attempt) return saved;
    }
    // Before the chat is freed: the next turn, which may start the moment it is, finds it.
    if (saved.ok() && cache_path) self->history_.remember(gen.chat_id, std::move(*cache_path), ticket);
    return shared_lease ? Status{} : announce_and_free();
  };
  constexpr int kAttempts = 5;
  // Stored with its turn (a pending turn's quick reply): one commit held both.
  if (already_stored) (void)after_save(Status{}, true);
  for (int attempt = 1; attempt <= kAttempts && !already_stored; ++attempt) {
    const bool last = attempt == kAttempts;
    Status s;
    if (d.chats.async_writes()) {
      // Queued to the store's writer from this thread; announced here once it is committed.
      Status saved = co_await await_completion<Status>([&](std::function<void(Status)> done) {
        d.chats.finish_generation_async(gen.id, status, content, error, std::move(done));
      });
      s = after_save(std::move(saved), last);
    } else {
      s = co_await offload(d.db_pool, [&] {
        return after_save(d.chats.finish_generation(gen.id, status, content, error), last);
      });
    }
    if (s.ok()) break;
  }
  if (lease) {
    auto released = co_await lease->release();
    if (!released.ok()) spdlog::warn("chat {}: lease not released: {}", gen.chat_id, released.error().message);
  }
  if (shared_lease) co_await offload(d.db_pool, announce_and_free);
}

}  // namespace troupe::chat
