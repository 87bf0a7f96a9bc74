// Services: the domain services the API dispatches to, owned by the app.
// Thread-safety: every service is safe for concurrent use (see their headers).
#pragma once

#include <atomic>

#include "chat/AuthService.h"
#include "chat/CharacterService.h"
#include "chat/ChatService.h"
#include "chat/TurnService.h"
#include "core/Config.h"
#include "core/Metrics.h"
#include "core/TaskRegistry.h"

namespace troupe::api {

struct Services {
  const Config& config;
  chat::AuthService& auth;
  chat::CharacterService& characters;
  chat::ChatService& chats;
  chat::TurnService& turns;
  std::atomic<bool>& ready;  // false while starting and shutting down (/readyz)
  MetricsRegistry* metrics = nullptr;  // /metrics; null = no metrics
  TaskRegistry* tasks = nullptr;       // /debug/tasks; null = not available
};

}  // namespace troupe::api
