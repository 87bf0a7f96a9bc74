#include "core/MemoryBudget.h"

#include <cstdio>
#include <exception>
#include <spdlog/spdlog.h>
#include <vector>

namespace troupe {

namespace {

std::string mib(std::uint64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(b) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

MemoryBudget::MemoryBudget(MemoryBudgetOptions options, Reader reader, MetricsRegistry* metrics)
    : opts_(options), reader_(std::move(reader)) {
  if (opts_.hard_percent == 0) opts_.hard_percent = 100;
  if (opts_.soft_percent == 0 || opts_.soft_percent > opts_.hard_percent) opts_.soft_percent = opts_.hard_percent;
  if (opts_.interval.count() <= 0) opts_.interval = std::chrono::milliseconds(1000);
  if (opts_.trim_every == 0) opts_.trim_every = 1;
  soft_ = opts_.limit_bytes / 100 * opts_.soft_percent + opts_.limit_bytes % 100 * opts_.soft_percent / 100;
  hard_ = opts_.limit_bytes / 100 * opts_.hard_percent + opts_.limit_bytes % 100 * opts_.hard_percent / 100;
  MetricsRegistry& m = metrics ? *metrics : own_metrics_;
  g_state_ = &m.gauge("troupe_memory_budget_state", "Memory budget state: 0 normal, 1 above the soft mark, 2 above the hard mark (shedding).");
  g_used_ = &m.gauge("troupe_memory_budget_used_bytes", "Memory in use as the budget measures it (process RSS).");
  m.gauge("troupe_memory_budget_limit_bytes", "server.memory_limit_bytes (0 = no budget).").set(static_cast<double>(opts_.limit_bytes));
  m.gauge("troupe_memory_budget_mark_bytes", "Budget marks in bytes.", {{"mark", "soft"}}).set(static_cast<double>(soft_));
  m.gauge("troupe_memory_budget_mark_bytes", "Budget marks in bytes.", {{"mark", "hard"}}).set(static_cast<double>(hard_));
  shed_ = &m.counter("troupe_memory_budget_shed_total", "Requests refused with 503 because memory was above the hard mark.");
  trims_ = &m.counter("troupe_memory_budget_trims_total", "Times the trim hooks ran (usage at or above the soft mark).");
}

MemoryBudget::~MemoryBudget() { stop(); }

MemoryBudget::HookId MemoryBudget::add_trim_hook(std::string name, std::function<void()> fn) {
  std::lock_guard lock(hooks_mu_);
  auto id = next_hook_++;
  hooks_.emplace(id, std::make_pair(std::move(name), std::move(fn)));
  return id;
}

void MemoryBudget::remove_trim_hook(HookId id) {
  std::lock_guard lock(hooks_mu_);
  hooks_.erase(id);
}

void MemoryBudget::run_hooks() {
  std::vector<std::pair<std::string, std::function<void()>>> hooks;
  {
    std::lock_guard lock(hooks_mu_);
    for (auto& [id, h] : hooks_) hooks.push_back(h);
  }
  trims_->inc();
  for (auto& [name, fn] : hooks) {
    try {
      fn();
    } catch (const std::exception& e) {
      spdlog::error("memory budget: trim hook {} failed: {}", name, e.what());
    } catch (...) {
      spdlog::error("memory budget: trim hook {} failed", name);
    }
  }
}

MemoryBudget::State MemoryBudget::sample() {
  std::unique_lock lock(sample_mu_);
  if (!enabled()) return State::normal;
  const std::uint64_t used = reader_ ? reader_() : 0;
  used_.store(used, std::memory_order_relaxed);
  const std::uint64_t slack = opts_.limit_bytes / 50;  // 2% hysteresis when leaving a state
  const State before = state();
  State next = State::normal;
  if (used >= hard_ || (before == State::hard && used + slack >= hard_)) {
    next = State::hard;
  } else if (used >= soft_ || (before != State::normal && used + slack >= soft_)) {
    next = State::soft;
  }
  state_.store(static_cast<int>(next), std::memory_order_relaxed);
  publish();
  if (next != before) {
    spdlog::log(next == State::normal ? spdlog::level::info : spdlog::level::warn,
                "memory budget: {} -> {} ({} in use, soft mark {}, hard mark {})", state_name(before),
                state_name(next), mib(used), mib(soft_), mib(hard_));
  }
  bool trim = false;
  if (next != State::normal) {
    trim = next > before || ++since_trim_ >= opts_.trim_every;
  }
  if (trim) since_trim_ = 0;
  lock.unlock();
  if (trim) run_hooks();
  return next;
}

void MemoryBudget::publish() {
  g_state_->set(static_cast<double>(state_.load(std::memory_order_relaxed)));
  g_used_->set(static_cast<double>(used_.load(std::memory_order_relaxed)));
}

void MemoryBudget::start() {
  if (!enabled()) return;
  std::lock_guard lock(thread_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lk(thread_mu_);
    while (!stopping_) {
      lk.unlock();
      sample();
      lk.lock();
      cv_.wait_for(lk, opts_.interval, [this] { return stopping_; });
    }
  });
}

void MemoryBudget::stop() {
  std::thread t;
  {
    std::lock_guard lock(thread_mu_);
    stopping_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

void MemoryBudget::count_shed() { shed_->inc(); }
std::uint64_t MemoryBudget::shed_count() const { return shed_->value(); }
std::uint64_t MemoryBudget::trim_count() const { return trims_->value(); }

std::string MemoryBudget::reason() const {
  const auto s = state();
  if (s == State::normal) return "memory use is within the budget";
  return std::string(s == State::hard ? "memory limit reached: " : "memory above the soft mark: ") +
         mib(used_bytes()) + " in use, " + (s == State::hard ? "hard mark " + mib(hard_) : "soft mark " + mib(soft_)) +
         " (server.memory_limit_bytes " + mib(opts_.limit_bytes) + ")";
}

const char* MemoryBudget::state_name(State s) {
  switch (s) {
    case State::normal: return "normal";
    case State::soft: return "soft";
    case State::hard: return "hard";
  }
  return "?";
}

}  // namespace troupe
