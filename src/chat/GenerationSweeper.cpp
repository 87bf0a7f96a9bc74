#include "chat/GenerationSweeper.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "core/Offload.h"

namespace troupe::chat {

namespace asio = boost::asio;

GenerationSweeper::GenerationSweeper(Deps deps, GenerationManager& generations,
                                     sync::ChatLeases& leases, std::chrono::milliseconds every,
                                     int batch)
    : d_(deps),
      gm_(generations),
      leases_(leases),
      every_(std::max(every, std::chrono::milliseconds(10))),
      batch_(std::clamp(batch, 1, store::kMaxRunningListed)),
      dead_(deps, "sweeper"),
      scope_(TaskScope::create(deps.tasks, "generation.sweeper")) {}

GenerationSweeper::~GenerationSweeper() { stop(); }

void GenerationSweeper::start(const asio::any_io_executor& ex) {
  (void)scope_->spawn(ex, TaskSpec{"generation.sweeper", "node", {}},
                      [this](std::shared_ptr<Task> t) { return run(std::move(t)); });
}

void GenerationSweeper::stop() {
  scope_->cancel();
  if (!scope_->wait_empty(std::chrono::seconds(5))) {
    spdlog::error("generation sweeper did not stop within 5 s");
  }
}

asio::awaitable<void> GenerationSweeper::run(std::shared_ptr<Task> task) {
  // Cancellation is checked between steps: a sweep step that was cancelled just returns early.
  co_await asio::this_coro::throw_if_cancelled(false);
  auto cs = co_await asio::this_coro::cancellation_state;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    task->set_state("waiting");
    timer.expires_after(every_);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || cs.cancelled() != asio::cancellation_type::none) co_return;
    task->set_state("sweeping");
    auto n = co_await sweep_once();
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
    if (!n.ok()) spdlog::warn("generation sweep incomplete: {}", n.error().message);
  }
}

asio::awaitable<Result<int>> GenerationSweeper::sweep_once() {
  auto running = co_await offload(d_.db_pool, [this] { return d_.chats.list_running(0, batch_); });
  if (!running.ok()) co_return running.error();
  int interrupted = 0;
  std::unordered_set<store::Id> free_now;
  for (const auto& g : *running) {
    if (gm_.runs_generation(g.id)) continue;
    auto held = co_await leases_.held(g.chat_id);
    if (!held.ok()) {
      free_before_.clear();  // an outage: start counting again
      co_return held.error();
    }
    if (*held) continue;  // its node is alive (or the chat's next holder recovers it)
    if (!free_before_.count(g.id)) {
      free_now.insert(g.id);  // first sighting: interrupt on the next sweep if still free
      continue;
    }
    auto r = co_await offload(d_.db_pool, [this, id = g.id] {
      return dead_.interrupt(id, "the node running it stopped");
    });
    if (!r.ok()) co_return r.error();
    if (*r) ++interrupted;
  }
  free_before_ = std::move(free_now);
  co_return interrupted;
}

}  // namespace troupe::chat
