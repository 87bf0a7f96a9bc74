#include "core/TaskScope.h"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

namespace troupe {

namespace asio = boost::asio;

struct TaskScope::Child {
  std::shared_ptr<Task> task;
  Executor ex;
  asio::cancellation_signal signal;
  TaskRegistry::Handle handle;
  std::unique_ptr<asio::steady_timer> deadline_timer;
};

std::shared_ptr<TaskScope> TaskScope::create(TaskRegistry& registry, std::string name) {
  return std::shared_ptr<TaskScope>(new TaskScope(registry, std::move(name)));
}

TaskScope::~TaskScope() = default;

std::shared_ptr<Task> TaskScope::spawn(const Executor& ex, TaskSpec spec, Body body) {
  auto deadline = spec.deadline.count() > 0 ? std::chrono::steady_clock::now() + spec.deadline
                                            : std::chrono::steady_clock::time_point::max();
  auto task = std::make_shared<Task>(registry_.next_id(), std::move(spec.name),
                                     std::move(spec.owner), deadline);
  auto child = std::make_shared<Child>();
  child->task = task;
  child->ex = ex;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return nullptr;
    child->handle = registry_.add(task);
    children_.emplace(task->id(), child);
  }
  if (spec.deadline.count() > 0) {
    child->deadline_timer = std::make_unique<asio::steady_timer>(ex, spec.deadline);
    std::weak_ptr<Child> weak = child;
    child->deadline_timer->async_wait([weak](boost::system::error_code ec) {
      if (ec) return;
      if (auto c = weak.lock()) {
        spdlog::warn("task {} '{}' ({}) passed its deadline; cancelling", c->task->id(),
                     c->task->name(), c->task->owner());
        c->signal.emit(asio::cancellation_type::terminal);
      }
    });
  }
  auto self = shared_from_this();
  auto id = task->id();
  // Start on the child's executor so the cancellation slot is only touched there.
  asio::post(ex, [self, child, id, body = std::move(body)]() mutable {
    asio::co_spawn(child->ex, body(child->task),
                   asio::bind_cancellation_slot(
                       child->signal.slot(), [self, id, name = child->task->name()](std::exception_ptr e) {
                         if (e) {
                           try {
                             std::rethrow_exception(e);
                           } catch (const std::exception& ex) {
                             spdlog::error("task '{}' ended with exception: {}", name, ex.what());
                           } catch (...) {
                             spdlog::error("task '{}' ended with unknown exception", name);
                           }
                         }
                         self->finished(id);
                       }));
  });
  return task;
}

void TaskScope::finished(std::uint64_t id) {
  std::shared_ptr<Child> child;
  {
    std::lock_guard lock(mu_);
    auto it = children_.find(id);
    if (it == children_.end()) return;
    child = std::move(it->second);
    children_.erase(it);
    registry_.remove(child->handle);
  }
  if (child->deadline_timer) {
    // Cancel on the child's executor: the timer is not thread-safe.
    asio::post(child->ex, [child] { child->deadline_timer->cancel(); });
  }
  cv_.notify_all();
}

void TaskScope::emit_cancel(const std::shared_ptr<Child>& child) {
  asio::post(child->ex, [child] { child->signal.emit(asio::cancellation_type::terminal); });
}

void TaskScope::cancel() {
  std::vector<std::shared_ptr<Child>> kids;
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    for (auto& [id, c] : children_) kids.push_back(c);
  }
  for (auto& c : kids) emit_cancel(c);
}

bool TaskScope::cancel_task(std::uint64_t id) {
  std::shared_ptr<Child> c;
  {
    std::lock_guard lock(mu_);
    auto it = children_.find(id);
    if (it == children_.end()) return false;
    c = it->second;
  }
  emit_cancel(c);
  return true;
}

bool TaskScope::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

std::size_t TaskScope::size() const {
  std::lock_guard lock(mu_);
  return children_.size();
}

bool TaskScope::wait_empty(std::chrono::milliseconds grace) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, grace, [this] { return children_.empty(); });
}

}  // namespace troupe
