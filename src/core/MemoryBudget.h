// MemoryBudget: a limit on the process's memory with two marks (the GOMEMLIMIT idea). A sampler
// thread reads the bytes in use (the process RSS in the server) every interval. At or above the soft
// mark it runs the registered trim hooks (caches, pools, warmed indexes give memory back): when the
// mark is crossed and again every `trim_every` samples while usage stays above it. At or above the
// hard mark shedding() is true and the server refuses new work until usage falls back below the
// mark; leaving a state needs usage 2% of the limit below its mark, so it does not flap. A limit of
// 0 turns the budget off (state stays normal, hooks never run).
// Thread-safety: every member may be called from any thread. Hooks run on the sampler thread (or on
// the caller of sample()), one at a time and outside the budget's locks, so a hook may register or
// remove hooks; a hook must be safe to call from that thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "core/Metrics.h"

namespace troupe {

struct MemoryBudgetOptions {
  std::uint64_t limit_bytes = 0;  // 0 = off
  unsigned soft_percent = 85;     // trim hooks run at or above this share of the limit
  unsigned hard_percent = 100;    // new work is refused at or above this share
  std::chrono::milliseconds interval{1000};
  unsigned trim_every = 10;  // samples between repeated trims while above the soft mark
};

class MemoryBudget {
 public:
  enum class State : int { normal = 0, soft = 1, hard = 2 };
  using Reader = std::function<std::uint64_t()>;  // bytes in use now
  using HookId = std::uint64_t;

  MemoryBudget(MemoryBudgetOptions options, Reader reader, MetricsRegistry* metrics = nullptr);
  ~MemoryBudget();
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  bool enabled() const { return opts_.limit_bytes > 0; }
  // A hook that gives memory back (drop a cache, shrink a pool, purge the allocator). `name` is
  // for logs. Remove it before what it refers to is destroyed.
  HookId add_trim_hook(std::string name, std::function<void()> fn);
  void remove_trim_hook(HookId id);

  // Reads usage once, updates the state, runs the hooks when due; returns the new state.
  State sample();
  // Starts / stops the sampler thread (start is a no-op when the budget is off).
  void start();
  void stop();

  State state() const { return static_cast<State>(state_.load(std::memory_order_relaxed)); }
  bool shedding() const { return state() == State::hard; }
  std::uint64_t used_bytes() const { return used_.load(std::memory_order_relaxed); }
  std::uint64_t limit_bytes() const { return opts_.limit_bytes; }
  std::uint64_t soft_bytes() const { return soft_; }
  std::uint64_t hard_bytes() const { return hard_; }
  // Counts a request refused because of the budget.
  void count_shed();
  std::uint64_t shed_count() const;
  std::uint64_t trim_count() const;
  // A sentence for error bodies and /readyz, e.g. "memory limit reached: 612.0 MiB in use, hard
  // mark 600.0 MiB".
  std::string reason() const;
  static const char* state_name(State s);

 private:
  void run_hooks();
  void publish();

  MemoryBudgetOptions opts_;
  Reader reader_;
  std::uint64_t soft_ = 0;
  std::uint64_t hard_ = 0;
  std::atomic<int> state_{0};
  std::atomic<std::uint64_t> used_{0};
  unsigned since_trim_ = 0;  // guarded by sample_mu_
  std::mutex sample_mu_;     // one sample at a time

  std::mutex hooks_mu_;
  HookId next_hook_ = 1;
  std::map<HookId, std::pair<std::string, std::function<void()>>> hooks_;

  MetricsRegistry own_metrics_;
  Gauge* g_state_ = nullptr;
  Gauge* g_used_ = nullptr;
  Counter* shed_ = nullptr;
  Counter* trims_ = nullptr;

  std::mutex thread_mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace troupe
