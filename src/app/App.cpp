#include "app/App.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <pthread.h>
#include <string_view>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "app/DemoCharacter.h"
#include "app/ProcessMetrics.h"
#include "app/Profilers.h"
#include "llm/BackendFactory.h"
#include "server/Server.h"
#include "sync/EventPool.h"

namespace troupe::app {

Result<std::unique_ptr<App>> App::open(const Config& config) {
  std::unique_ptr<App> app(new App(config));
  auto store = StoreWiring::open(config, app->clock_);
  if (!store.ok()) return store.error();
  app->store_ = std::move(store).value();
  app->db_pool_ = std::make_unique<boost::asio::thread_pool>(std::max(1, config.store.db_threads));
  app->seq_ = std::make_unique<chat::StoreSeqAllocator>(app->store_->chats());
  auto bus = BusWiring::open(config, app->tasks_, *app->seq_);
  if (!bus.ok()) return bus.error();
  app->bus_ = std::move(bus).value();
  app->llm_ = llm::make_backend(config.llm);
  if (auto* memories = app->store_->memories()) {
    const bool shared_store = std::string_view(app->store_->name()) != "sqlite";
    app->memory_ = MemoryWiring::open(config, *memories, *app->db_pool_, app->clock_,
                                      &app->metrics_, shared_store);
    app->memory_->connect(app->bus_->bus());
  }
  if (!app->bus_->bus().shared()) {
    app->contexts_ = std::make_unique<chat::ContextCache>(4096, std::size_t{32} << 20);
  }
  auto d = app->deps();
  app->generations_ = std::make_unique<chat::GenerationManager>(d, app->bus_->leases());
  if (auto* leases = app->bus_->leases()) {
    app->sweeper_ = std::make_unique<chat::GenerationSweeper>(
        d, *app->generations_, *leases, leases->ttl());
  }
  app->auth_ = std::make_unique<chat::AuthService>(d);
  app->characters_ = std::make_unique<chat::CharacterService>(d);
  app->chats_ = std::make_unique<chat::ChatService>(d, *app->generations_);
  app->turns_ = std::make_unique<chat::TurnService>(d, *app->generations_);
  app->users_ = std::make_unique<chat::UserService>(d, *app->generations_, *app->auth_, *app->chats_);
  return app;
}

App::~App() {
  if (memory_) memory_->shutdown();
  if (db_pool_) db_pool_->join();
}

chat::Deps App::deps() {
  return chat::Deps{config_, *db_pool_, store_->users(), store_->characters(), store_->chats(),
                    bus_->bus(), *llm_, fmt_, clock_, tasks_, &metrics_, memory_ ? memory_->service() : nullptr, contexts_.get()};
}

Status App::delete_user(const std::string& name) {
  auto user = store_->users().user_by_name(name);
  if (!user.ok()) return user.error();
  // The command line acts as an administrator that is not a stored user.
  store::User operator_user;
  operator_user.name = "command line";
  operator_user.is_admin = true;
  boost::asio::io_context io;
  std::optional<Status> out;
  boost::asio::co_spawn(
      io,
      [](chat::UserService* users, store::User by, store::Id id,
         std::optional<Status>* dst) -> boost::asio::awaitable<void> {
        dst->emplace(co_await users->remove(by, id));
      }(users_.get(), operator_user, user->id, &out),
      [&out](std::exception_ptr e) {
        if (e && !out) out = make_error(Errc::internal, "user deletion failed");
      });
  io.run();
  return out ? *out : make_error(Errc::internal, "user deletion did not finish");
}

Status App::seed_demo_character(store::Id user_id) {
  auto c = store_->characters().create_character(demo_character(user_id));
  if (!c.ok()) return c.error();
  return {};
}

Result<std::optional<chat::NewUser>> App::bootstrap() {
  auto created = auth_->bootstrap();
  if (!created.ok() && created.error().code == Errc::conflict && store_->shared()) {
    // Another node sharing the store created the admin at the same moment.
    return std::optional<chat::NewUser>();
  }
  if (!created.ok() || !created->has_value()) return created;
  const auto& nu = **created;
  auto path = std::filesystem::path(config_.store.data_dir) / "admin.token";
  {
    std::ofstream f(path, std::ios::trunc);
    f << nu.token << "\n";
  }
  ::chmod(path.c_str(), 0600);
  auto s = seed_demo_character(nu.user.id);
  if (!s.ok()) spdlog::warn("demo character not created: {}", s.error().message);
  return created;
}

int App::serve() {
  // Signals are taken synchronously by this thread only.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (!store_->shared()) {
    auto interrupted = store_->chats().interrupt_running();
    if (interrupted.ok() && *interrupted > 0) {
      spdlog::warn("{} generation(s) from the previous run marked interrupted", *interrupted);
    }
  }
  // A shared store is used by other nodes whose generations may be running: nothing is marked
  // interrupted at start-up (see docs/OPERATIONS.md, "Several nodes"). With the Redis bus, the
  // generations of a node that died are interrupted by the sweeper (or by the next node that
  // takes the chat's lease) once its leases have expired.
  if (sweeper_) sweeper_->start(bus_->executor());
  auto boot = bootstrap();
  if (!boot.ok()) {
    std::cerr << "bootstrap failed: " << boot.error().message << "\n";
    return 1;
  }

  register_process_metrics(metrics_, tasks_);
  metrics_.collect("troupe_subscribers", "Live event subscriptions (SSE and WebSocket).", [this] {
    return std::vector<std::pair<MetricsRegistry::Labels, double>>{{{}, double(bus_->bus().subscriber_count())}};
  });
  if (contexts_) {
    metrics_.collect("troupe_context_cache_lookups",
                     "Turns whose chat, character and persona came from the context cache (hit) or the store (miss).",
                     [this] {
                       auto st = contexts_->stats();
                       return std::vector<std::pair<MetricsRegistry::Labels, double>>{
                           {{{"result", "hit"}}, static_cast<double>(st.hits)},
                           {{{"result", "miss"}}, static_cast<double>(st.misses)}};
                     });
    metrics_.collect("troupe_context_cache_bytes", "Text held by the context cache.", [this] {
      return std::vector<std::pair<MetricsRegistry::Labels, double>>{
          {{}, static_cast<double>(contexts_->stats().bytes)}};
    });
  }
  metrics_.collect("troupe_pool_acquires", "Pool acquires served from the free list (hit) or the heap (miss).", [] {
    auto& p = sync::EventPool::instance();
    return std::vector<std::pair<MetricsRegistry::Labels, double>>{
        {{{"pool", "event_blocks"}, {"result", "hit"}}, double(p.block_hits())},
        {{{"pool", "event_blocks"}, {"result", "miss"}}, double(p.block_misses())},
        {{{"pool", "event_buffers"}, {"result", "hit"}}, double(p.buffer_hits())},
        {{{"pool", "event_buffers"}, {"result", "miss"}}, double(p.buffer_misses())}};
  });
  metrics_.collect("troupe_pool_free_items", "Items waiting in each pool's free list.", [] {
    auto& p = sync::EventPool::instance();
    return std::vector<std::pair<MetricsRegistry::Labels, double>>{
        {{{"pool", "event_blocks"}}, double(p.free_blocks())},
        {{{"pool", "event_buffers"}}, double(p.free_buffers())}};
  });
  store_->register_metrics(metrics_);
  bus_->register_metrics(metrics_);
  const api::Profilers profilers = make_profilers();
  api::Api api(api::Services{config_, *auth_, *characters_, *chats_, *turns_, ready_, &metrics_, &tasks_,
                             &profilers});
  auto memory_budget = make_memory_budget(config_, metrics_);
  api.services().memory_budget = memory_budget.get();
  // Above the soft mark: give back idle pooled events, drop the vector indexes of spaces that
  // are not hot (they reload from their segment files on demand) and the cached chat histories.
  memory_budget->add_trim_hook("event_pool", [] { sync::EventPool::instance().trim(); });
  if (memory_) memory_budget->add_trim_hook("vector_indexes", [this] { memory_->trim(); });
  memory_budget->add_trim_hook("history_cache", [this] { generations_->history_cache().clear(); });
  if (contexts_) memory_budget->add_trim_hook("context_cache", [this] { contexts_->clear(); });
  api.services().degraded_reason = [bus = bus_.get(), store = store_.get()] {
    auto why = store->health();
    return why.empty() ? bus->health() : why;
  };
  api.services().users = users_.get();
  memory_budget->start();
  server::Server server(config_, api, tasks_, &metrics_);
  auto ep = server.listen();
  if (!ep.ok()) {
    std::cerr << ep.error().message << "\n";
    return 1;
  }
  server.run();
  ready_ = true;
  std::string host = ep->address().to_string();
  if (ep->address().is_v6()) host = "[" + host + "]";
  std::cout << "listening on http://" << host << ":" << ep->port() << std::endl;
  std::cout << "store: " << store_->name() << ", bus: " << bus_->name() << std::endl;
  std::cout << "llm backend: " << llm_->name()
            << (llm_->name() == "sim" ? " (built-in simulator, not a language model)" : "") << std::endl;
  if (boot->has_value()) {
    std::cout << "admin token: " << (*boot)->token << std::endl;
    std::cout << "(also saved to " << (std::filesystem::path(config_.store.data_dir) / "admin.token").string()
              << ")" << std::endl;
  }

  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("signal {}: shutting down", sig);
  const auto grace = std::chrono::milliseconds(config_.server.shutdown_grace_ms);
  ready_ = false;
  server.stop_accepting();
  if (sweeper_) sweeper_->stop();
  // Running generations get half the grace to finish, then stop as "interrupted" with their text.
  generations_->shutdown(grace / 2, grace / 2);
  bus_->bus().close_all();
  server.close_connections(std::chrono::milliseconds(1000));
  server.join();
  // Completions of asynchronous writes post to the I/O contexts, which go with `server`.
  store_->flush_writes();
  memory_budget->stop();  // its trim hooks refer to the pools and the engine below
  if (memory_) memory_->shutdown();
  db_pool_->join();
  spdlog::info("shutdown complete; {} task(s) left", tasks_.live());
  return 0;
}

}  // namespace troupe::app
