// Deps: the shared parts every chat service uses, owned by the app and outliving the services.
// Thread-safety: the referenced objects are each safe for concurrent use (see their headers).
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "chat/ContextCache.h"
#include "chat/EventFormatter.h"
#include "core/Clock.h"
#include "core/Config.h"
#include "core/Metrics.h"
#include "core/TaskRegistry.h"
#include "llm/Backend.h"
#include "memory/Memory.h"
#include "store/CharacterStore.h"
#include "store/ChatStore.h"
#include "store/UserStore.h"
#include "sync/EventBus.h"

namespace troupe::chat {

struct Deps {
  const Config& config;
  boost::asio::thread_pool& db_pool;  // blocking store calls run here (core/Offload.h)
  store::UserStore& users;
  store::CharacterStore& characters;
  store::ChatStore& chats;
  sync::EventBus& bus;
  llm::Backend& llm;
  const EventFormatter& fmt;
  const Clock& clock;
  TaskRegistry& tasks;
  MetricsRegistry* metrics = nullptr;  // null in tests that don't look at metrics
  memory::MemoryService* memory = nullptr;  // character memory; null = none
  ContextCache* contexts = nullptr;  // turns' chat contexts (single node); null = always read
};

}  // namespace troupe::chat
