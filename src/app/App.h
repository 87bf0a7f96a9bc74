// App: builds the whole process from a Config — store, DB pool, event bus, LLM backend, domain
// services, API and server — and tears it down in order. Used by `troupe serve` and the CLI.
// Thread-safety: construct, serve and destroy from the main thread.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <optional>

#include "api/Api.h"
#include "api/JsonEventFormatter.h"
#include "app/BusWiring.h"
#include "app/MemoryWiring.h"
#include "app/StoreWiring.h"
#include "chat/AuthService.h"
#include "chat/CharacterService.h"
#include "chat/ChatService.h"
#include "chat/GenerationManager.h"
#include "chat/GenerationSweeper.h"
#include "chat/StoreSeqAllocator.h"
#include "chat/TurnService.h"
#include "chat/UserService.h"
#include "core/Clock.h"
#include "core/Config.h"
#include "core/Metrics.h"
#include "core/TaskRegistry.h"
#include "llm/Backend.h"

namespace troupe::app {

class App {
 public:
  // Opens the store (store.url: SQLite under store.data_dir, or PostgreSQL), the event bus
  // (bus.url: in-process or Redis) and wires every service. An unreachable PostgreSQL fails here.
  static Result<std::unique_ptr<App>> open(const Config& config);
  ~App();

  chat::AuthService& auth() { return *auth_; }
  chat::Deps deps();
  // First start: creates the admin user, writes DATA/admin.token, seeds the demo character.
  Result<std::optional<chat::NewUser>> bootstrap();
  // `troupe user delete NAME`: deletes the user and everything of theirs (as DELETE /api/users/{id}).
  Status delete_user(const std::string& name);
  // Runs the server until SIGINT/SIGTERM, then shuts down gracefully. Returns the exit code.
  int serve();

 private:
  explicit App(const Config& config) : config_(config) {}
  Status seed_demo_character(store::Id user_id);

  Config config_;
  SystemClock clock_;
  TaskRegistry tasks_;
  MetricsRegistry metrics_;
  std::unique_ptr<StoreWiring> store_;
  std::unique_ptr<boost::asio::thread_pool> db_pool_;
  std::unique_ptr<chat::StoreSeqAllocator> seq_;
  std::unique_ptr<BusWiring> bus_;
  std::unique_ptr<llm::Backend> llm_;
  std::unique_ptr<MemoryWiring> memory_;
  api::JsonEventFormatter fmt_;
  std::unique_ptr<chat::ContextCache> contexts_;  // single node only
  std::unique_ptr<chat::GenerationManager> generations_;
  std::unique_ptr<chat::GenerationSweeper> sweeper_;  // several nodes only
  std::unique_ptr<chat::AuthService> auth_;
  std::unique_ptr<chat::CharacterService> characters_;
  std::unique_ptr<chat::ChatService> chats_;
  std::unique_ptr<chat::TurnService> turns_;
  std::unique_ptr<chat::UserService> users_;
  std::atomic<bool> ready_{false};
};

}  // namespace troupe::app
