// TaskRegistry: every live coroutine, timer and subscription of the process, for the task dump.
// Thread-safety: all members are safe to call from any thread (one mutex; taken per task start/end,
// never per token).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace troupe {

// One live task. Its state label is a static string the task updates as it awaits different things.
class Task {
 public:
  Task(std::uint64_t id, std::string name, std::string owner,
       std::chrono::steady_clock::time_point deadline)
      : id_(id), name_(std::move(name)), owner_(std::move(owner)),
        started_(std::chrono::steady_clock::now()), deadline_(deadline) {}

  std::uint64_t id() const { return id_; }
  const std::string& name() const { return name_; }
  const std::string& owner() const { return owner_; }
  std::chrono::steady_clock::time_point started() const { return started_; }
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  // `label` must be a string literal (static storage).
  void set_state(const char* label) { state_.store(label, std::memory_order_relaxed); }
  const char* state() const { return state_.load(std::memory_order_relaxed); }

 private:
  std::uint64_t id_;
  std::string name_;
  std::string owner_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point deadline_;  // time_point::max() = none
  std::atomic<const char*> state_{"running"};
};

struct TaskSnapshot {
  std::uint64_t id;
  std::string name;
  std::string owner;
  std::string state;
  double age_seconds;
  bool past_deadline;
};

class TaskRegistry {
 public:
  using Handle = std::list<std::shared_ptr<Task>>::iterator;

  Handle add(std::shared_ptr<Task> task);
  void remove(Handle h);
  std::uint64_t next_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  std::size_t live() const;
  std::vector<TaskSnapshot> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::list<std::shared_ptr<Task>> tasks_;
  std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace troupe
