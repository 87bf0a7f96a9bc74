// GenerationSweeper: on each node sharing the store, finds generations left "running" by a node
// that died. Every `every` (about the lease TTL) it lists running generations (at most `batch`),
// and for each one this node does not run asks whether its chat's lease is held anywhere; when
// it is not, in two consecutive sweeps (so a node that ran it with a provisional lease while
// Redis was unreachable has a whole interval to take its lease), the generation is marked
// interrupted (only if still running) and announced. Listing
// comes before the lease check and the update is conditional, so racing with a generation that
// is finishing or starting is harmless: a started generation holds its lease before its row
// exists, and a finished one is stored before its lease is given back.
// Thread-safety: start()/stop() from the main thread; sweep_once() from any coroutine.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <unordered_set>

#include "chat/DeadGenerations.h"
#include "chat/GenerationManager.h"
#include "core/TaskScope.h"

namespace troupe::chat {

class GenerationSweeper {
 public:
  GenerationSweeper(Deps deps, GenerationManager& generations, sync::ChatLeases& leases,
                    std::chrono::milliseconds every, int batch = 200);
  ~GenerationSweeper();

  // Starts the periodic sweep as a task ("generation.sweeper") on `ex`.
  void start(const boost::asio::any_io_executor& ex);
  // Ends the task (bounded wait).
  void stop();
  // One pass: how many generations it interrupted. Stops early (error) when the lease service is
  // unreachable: nothing is interrupted on a guess. Not concurrently with itself.
  boost::asio::awaitable<Result<int>> sweep_once();

 private:
  boost::asio::awaitable<void> run(std::shared_ptr<Task> task);

  Deps d_;
  GenerationManager& gm_;
  sync::ChatLeases& leases_;
  std::chrono::milliseconds every_;
  int batch_;
  DeadGenerations dead_;
  std::unordered_set<store::Id> free_before_;  // seen without a lease by the previous sweep
  std::shared_ptr<TaskScope> scope_;
};

}  // namespace troupe::chat
