// TaskScope: owns a set of child coroutines. Every child is registered in the TaskRegistry with a
// name, owner, start time, deadline and state; cancel() delivers terminal cancellation to each
// child on its own executor; join() waits (bounded) until all children ended.
// Thread-safety: spawn/cancel/size/join may be called from any thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/TaskRegistry.h"

namespace troupe {

struct TaskSpec {
  std::string name;                       // groups tasks in the dump, e.g. "http.session"
  std::string owner;                      // e.g. "conn:127.0.0.1:5555", "chat:42"
  std::chrono::milliseconds deadline{0};  // 0 = no deadline; past it the task is cancelled
};

class TaskScope : public std::enable_shared_from_this<TaskScope> {
 public:
  using Executor = boost::asio::any_io_executor;
  using Body = std::function<boost::asio::awaitable<void>(std::shared_ptr<Task>)>;

  static std::shared_ptr<TaskScope> create(TaskRegistry& registry, std::string name);
  ~TaskScope();

  // Starts `body(task)` on `ex`. Returns nullptr when the scope is already cancelled.
  // Exceptions escaping the body are logged and swallowed (they never cross the scope).
  std::shared_ptr<Task> spawn(const Executor& ex, TaskSpec spec, Body body);

  // Cancels every child (terminal cancellation) and refuses new ones.
  void cancel();
  // Cancels one child by task id; false if it is no longer running.
  bool cancel_task(std::uint64_t id);
  bool cancelled() const;
  std::size_t size() const;
  // Blocks the calling (non-I/O) thread until empty or `grace` elapsed; true if empty.
  bool wait_empty(std::chrono::milliseconds grace) const;
  const std::string& name() const { return name_; }

 private:
  struct Child;
  TaskScope(TaskRegistry& registry, std::string name) : registry_(registry), name_(std::move(name)) {}
  void finished(std::uint64_t id);
  static void emit_cancel(const std::shared_ptr<Child>& child);

  TaskRegistry& registry_;
  std::string name_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Child>> children_;
  bool cancelled_ = false;
};

}  // namespace troupe
