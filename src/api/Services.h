// Services: the domain services the API dispatches to, owned by the app.
// Thread-safety: every service is safe for concurrent use (see their headers).
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "chat/AuthService.h"
#include "chat/CharacterService.h"
#include "chat/ChatService.h"
#include "chat/TurnService.h"
#include "chat/UserService.h"
#include "core/Config.h"
#include "core/MemoryBudget.h"
#include "core/Metrics.h"
#include "core/TaskRegistry.h"

namespace troupe::api {

// Profilers the binary links (gperftools CPU profiler, jemalloc heap statistics/profiles).
// Thread-safety: the callables are called one at a time (the API serialises profile requests).
struct Profilers {
  std::function<bool(const std::string& path)> cpu_start;  // false if it could not start
  std::function<void()> cpu_stop;
  std::function<Result<std::string>()> heap;  // a heap profile or allocator statistics (text)
};

struct Services {
  const Config& config;
  chat::AuthService& auth;
  chat::CharacterService& characters;
  chat::ChatService& chats;
  chat::TurnService& turns;
  std::atomic<bool>& ready;  // false while starting and shutting down (/readyz)
  MetricsRegistry* metrics = nullptr;  // /metrics; null = no metrics
  TaskRegistry* tasks = nullptr;       // /debug/tasks; null = not available
  const Profilers* profilers = nullptr;  // /debug/pprof; null = not available
  MemoryBudget* memory_budget = nullptr;  // 503 above the hard mark, /readyz; null = no budget
  // Why a shared dependency (the event bus) is degraded, "" when fine; /readyz answers 503 with
  // it as the reason. Called on I/O threads: must not block. Empty function = always fine.
  std::function<std::string()> degraded_reason;
  chat::UserService* users = nullptr;  // DELETE /api/users/{id}; null = not available
};

}  // namespace troupe::api
