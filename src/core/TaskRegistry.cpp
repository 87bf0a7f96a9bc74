#include "core/TaskRegistry.h"

namespace troupe {

TaskRegistry::Handle TaskRegistry::add(std::shared_ptr<Task> task) {
  std::lock_guard lock(mu_);
  tasks_.push_front(std::move(task));
  return tasks_.begin();
}

void TaskRegistry::remove(Handle h) {
  std::lock_guard lock(mu_);
  tasks_.erase(h);
}

std::size_t TaskRegistry::live() const {
  std::lock_guard lock(mu_);
  return tasks_.size();
}

std::vector<TaskSnapshot> TaskRegistry::snapshot() const {
  auto now = std::chrono::steady_clock::now();
  std::vector<TaskSnapshot> out;
  std::lock_guard lock(mu_);
  out.reserve(tasks_.size());
  for (const auto& t : tasks_) {
    out.push_back(TaskSnapshot{
        t->id(), t->name(), t->owner(), t->state(),
        std::chrono::duration<double>(now - t->started()).count(),
        t->deadline() != std::chrono::steady_clock::time_point::max() && now > t->deadline()});
  }
  return out;
}

}  // namespace troupe
