// Shared fixture for the chat service tests: a real SQLite store in a temp dir, the in-process
// event bus over the store's sequence marks, a scripted fake LLM backend, and the services, all
// driven by an io_context run on the test thread.
// Thread-safety: single test thread, plus the DB pool the services offload to.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chat/AuthService.h"
#include "chat/ChatService.h"
#include "chat/GenerationManager.h"
#include "chat/StoreSeqAllocator.h"
#include "chat/TurnService.h"
#include "core/Crypto.h"
#include "core/TaskRegistry.h"
#include "store/sqlite/SqliteStore.h"
#include "sync/InProcessBus.h"

namespace troupe::chat::testing {

namespace asio = boost::asio;
namespace json = boost::json;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/troupe-chat-test-XXXXXX";
    if (char* p = mkdtemp(tmpl.data())) path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Event members as JSON (the real one lives in api/, which chat/ must not depend on).
class TestFormatter final : public EventFormatter {
 public:
  static json::object msg(const store::Message& m) {
    return {{"id", m.id},           {"chat_id", m.chat_id},
            {"parent_id", m.parent_id}, {"role", m.role},
            {"content", m.content}, {"status", m.status},
            {"generation_id", m.generation_id}, {"swipe_index", m.swipe_index},
            {"swipe_count", m.swipe_count}};
  }
  static json::object gen(const store::Generation& g) {
    return {{"id", g.id},         {"chat_id", g.chat_id}, {"message_id", g.message_id},
            {"kind", g.kind},     {"status", g.status},   {"error", g.error},
            {"backend", g.backend}};
  }
  std::string message(const store::Message& m) const override {
    return "\"message\":" + json::serialize(msg(m));
  }
  std::string generation(const store::Generation& g) const override {
    return "\"generation\":" + json::serialize(gen(g));
  }
  std::string chat(const store::Chat& c, std::int64_t last_seq) const override {
    return "\"chat\":" + json::serialize(json::object{{"id", c.id},
                                                        {"leaf_id", c.leaf_id},
                                                        {"title", c.title},
                                                        {"last_seq", last_seq}});
  }
  std::string token(store::Id generation_id, store::Id message_id,
                    std::string_view text) const override {
    return "\"generation_id\":" + std::to_string(generation_id) +
           ",\"message_id\":" + std::to_string(message_id) +
           ",\"text\":" + json::serialize(json::string_view(text.data(), text.size()));
  }
  std::string finished(const store::Generation& g, const store::Message& m) const override {
    return generation(g) + "," + message(m);
  }
  std::string message_deleted(store::Id message_id) const override {
    return "\"message_id\":" + std::to_string(message_id);
  }
};

// What the fake backend does for each stream() call.
struct Script {
  std::vector<std::string> tokens{"Hello", ",", " there"};
  std::chrono::milliseconds per_token{0};  // waits on a timer before each token
  int hold_after = -1;                     // after this many tokens, wait for cancel or release()
  std::optional<Error> fail;               // returned after the tokens
};

class FakeBackend final : public llm::Backend {
 public:
  std::string_view name() const override { return "fake"; }

  void set_script(Script s) {
    std::lock_guard lock(mu_);
    script_ = std::move(s);
  }
  // Lets held streams continue.
  void release() { released_ = true; }
  int calls() const { return calls_.load(); }
  int holding() const { return holding_.load(); }
  int cancelled() const { return cancelled_.load(); }
  std::vector<llm::Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

  asio::awaitable<Status> stream(const llm::Request& request, llm::TokenSink& sink) override {
    Script sc;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(request);
      sc = script_;
    }
    ++calls_;
    const bool throw_before = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    Status st = co_await run(sc, sink);
    co_await asio::this_coro::throw_if_cancelled(throw_before);
    co_return st;
  }

 private:
  asio::awaitable<Status> run(const Script& sc, llm::TokenSink& sink) {
    auto cs = co_await asio::this_coro::cancellation_state;
    auto is_cancelled = [&cs] { return cs.cancelled() != asio::cancellation_type::none; };
    auto cancelled = [this] {
      ++cancelled_;
      return make_error(Errc::cancelled, "cancelled");
    };
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (std::size_t i = 0; i <= sc.tokens.size(); ++i) {
      if (is_cancelled()) co_return cancelled();
      if (static_cast<int>(i) == sc.hold_after) {
        sink.on_pause();
        ++holding_;
        while (!released_ && !is_cancelled()) {
          timer.expires_after(std::chrono::milliseconds(2));
          co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        --holding_;
        if (is_cancelled()) co_return cancelled();
      }
      if (i == sc.tokens.size()) break;
      if (sc.per_token.count() > 0) {
        sink.on_pause();
        timer.expires_after(sc.per_token);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (is_cancelled()) co_return cancelled();
      }
      sink.on_token(sc.tokens[i]);
      if (!sink.wanted()) co_return cancelled();
    }
    sink.on_pause();
    if (sc.fail) co_return *sc.fail;
    co_return Status{};
  }

  mutable std::mutex mu_;
  Script script_;
  std::vector<llm::Request> requests_;
  std::atomic<bool> released_{false};
  std::atomic<int> calls_{0};
  std::atomic<int> holding_{0};
  std::atomic<int> cancelled_{0};
};

// A parsed event.
struct Ev {
  std::int64_t seq = 0;
  std::string type;
  json::object body;
};

#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    const auto& troupe_r_ = (expr);                                            \
    ASSERT_TRUE(troupe_r_.ok()) << #expr << ": " << troupe_r_.error().message; \
  } while (0)

#define EXPECT_ERRC(expr, errc)                                                 \
  do {                                                                          \
    const auto& troupe_r_ = (expr);                                             \
    EXPECT_FALSE(troupe_r_.ok()) << #expr << " unexpectedly succeeded";         \
    if (!troupe_r_.ok()) {                                                      \
      EXPECT_EQ(troupe_r_.error().code, (errc)) << troupe_r_.error().message;   \
    }                                                                           \
  } while (0)

class ChatFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    config_.generation.flush_interval_ms = 5;
    configure(config_);
    auto s = store::sqlite::SqliteStore::open(dir_.path() + "/troupe.db", clock_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
    seq_ = std::make_unique<StoreSeqAllocator>(store_->chats());
    sync::InProcessBusOptions bo;
    bo.replay_events = 256;
    bo.subscriber_queue = 1024;
    bus_ = std::make_unique<sync::InProcessBus>(*seq_, bo);
    gm_ = std::make_unique<GenerationManager>(deps());
    turns_ = std::make_unique<TurnService>(deps(), *gm_);
    chats_ = std::make_unique<ChatService>(deps(), *gm_);
    auth_ = std::make_unique<AuthService>(deps());

    alice_ = make_user("alice");
    bob_ = make_user("bob");
    aria_ = make_character(alice_.id, "Aria");
  }

  void TearDown() override {
    if (gm_) {
      llm_.release();
      shutdown(std::chrono::milliseconds(5000), std::chrono::milliseconds(5000));
    }
    settle();
    auth_.reset();
    chats_.reset();
    turns_.reset();
    gm_.reset();
    settle();
    db_pool_.join();
  }

  // Lets tests change the configuration before the services are built.
  virtual void configure(Config&) {}
  // The event encoder the services use.
  virtual const EventFormatter& formatter() const { return fmt_; }

  Deps deps() {
    return Deps{config_, db_pool_, store_->users(), store_->characters(), store_->chats(),
                *bus_,   llm_,     formatter(),    clock_,  tasks_, nullptr, nullptr, &contexts_};
  }

  store::User make_user(const std::string& name) {
    auto u = store_->users().create_user(name, false, sha256_hex("token-" + name));
    EXPECT_TRUE(u.ok()) << (u.ok() ? "" : u.error().message);
    return u.ok() ? *u : store::User{};
  }

  store::Character make_character(store::Id user_id, const std::string& name) {
    store::Character c;
    c.user_id = user_id;
    c.name = name;
    c.description = "{{char}} keeps the lighthouse.";
    c.first_mes = "Welcome, {{user}}.";
    auto r = store_->characters().create_character(c);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : store::Character{};
  }

  // Runs the io_context until `done()` (false on timeout).
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    auto guard = asio::make_work_guard(io_);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    io_.restart();
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.run_one_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  // Runs ready handlers (e.g. posted clean-ups) until nothing is left to do right now.
  void settle() {
    for (int i = 0; i < 20; ++i) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(2));
    }
  }

  template <class T>
  T await(asio::awaitable<T> a) {
    // Shared with the coroutine: it may outlive this call when it does not finish in time.
    auto out = std::make_shared<std::optional<T>>();
    auto err = std::make_shared<std::exception_ptr>();
    auto ended = std::make_shared<bool>(false);
    asio::co_spawn(
        io_,
        [](asio::awaitable<T> inner,
           std::shared_ptr<std::optional<T>> dst) -> asio::awaitable<void> {
          dst->emplace(co_await std::move(inner));
        }(std::move(a), out),
        [err, ended](std::exception_ptr e) {
          *err = e;
          *ended = true;
        });
    bool finished = run_until([&] { return *ended; });
    if (!finished) ADD_FAILURE() << "awaitable did not finish";
    if (*err) std::rethrow_exception(*err);
    if (!out->has_value()) throw std::runtime_error("awaitable did not finish");
    return std::move(**out);
  }

  // Shuts the generation manager down from another thread while the test thread runs the I/O.
  void shutdown(std::chrono::milliseconds finish, std::chrono::milliseconds persist) {
    std::atomic<bool> done{false};
    std::thread t([&] {
      gm_->shutdown(finish, persist);
      done = true;
    });
    EXPECT_TRUE(run_until([&] { return done.load(); }, finish + persist + std::chrono::seconds(5)));
    t.join();
  }

  ChatView new_chat(const store::User& u, store::Id character_id, store::Id persona_id = 0,
                    std::string title = "") {
    auto v = await(chats_->create(u, character_id, persona_id, std::move(title)));
    EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
    return v.ok() ? *v : ChatView{};
  }

  std::shared_ptr<sync::Subscription> subscribe(const store::User& u, store::Id chat,
                                                std::int64_t after = 0) {
    auto s = await(chats_->subscribe(u, chat, after));
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? *s : nullptr;
  }

  // One event (a single event, or one event of a run: see sync::Event).
  static Ev parse(const sync::Event& e, std::int64_t seq, std::string_view text) {
    Ev ev;
    ev.seq = seq;
    ev.type = e.type;
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    EXPECT_FALSE(ec) << text;
    if (!ec && v.is_object()) ev.body = v.as_object();
    return ev;
  }
  static Ev parse(const sync::EventPtr& e) { return parse(*e, e->seq, e->json); }
  // The events of an item queued for a subscriber, a run one by one, appended to `out`.
  static void parse_into(const sync::EventPtr& e, std::vector<Ev>& out) {
    e->parts([&](std::int64_t seq, std::string_view text) { out.push_back(parse(*e, seq, text)); });
  }

  // Every event queued for `sub` right now.
  std::vector<Ev> drain(sync::Subscription& sub) {
    std::vector<Ev> out;
    while (auto e = sub.try_next()) parse_into(e, out);
    return out;
  }

  // Runs the I/O and collects events until one of type `type` arrived.
  std::vector<Ev> collect_until(sync::Subscription& sub, const std::string& type,
                                std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    std::vector<Ev> out;
    bool seen = false;
    run_until(
        [&] {
          while (auto e = sub.try_next()) {
            parse_into(e, out);
            if (out.back().type == type) seen = true;
          }
          return seen;
        },
        limit);
    EXPECT_TRUE(seen) << "no " << type << " event";
    return out;
  }

  // Waits until the chat has no running generation.
  bool wait_idle(store::Id chat) {
    return run_until([&] { return !gm_->running(chat).has_value(); });
  }

  store::Message message(store::Id id) {
    auto m = store_->chats().get_message(alice_.id, id);
    EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
    return m.ok() ? *m : store::Message{};
  }

  store::Generation generation(store::Id id) {
    auto g = store_->chats().get_generation(alice_.id, id);
    EXPECT_TRUE(g.ok()) << (g.ok() ? "" : g.error().message);
    return g.ok() ? *g : store::Generation{};
  }

  std::vector<store::Message> path(store::Id chat) {
    auto p = store_->chats().path_to(chat, 0, 10000);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
    return p.ok() ? *p : std::vector<store::Message>{};
  }

  static std::vector<std::string> types(const std::vector<Ev>& evs) {
    std::vector<std::string> out;
    for (auto& e : evs) out.push_back(e.type);
    return out;
  }

  TempDir dir_;
  FakeClock clock_;
  Config config_;
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  asio::thread_pool db_pool_{2};
  TaskRegistry tasks_;
  std::unique_ptr<StoreSeqAllocator> seq_;
  std::unique_ptr<sync::InProcessBus> bus_;
  ContextCache contexts_{4096, std::size_t{32} << 20};  // as the app has it on a single node
  TestFormatter fmt_;
  FakeBackend llm_;
  std::unique_ptr<GenerationManager> gm_;
  std::unique_ptr<TurnService> turns_;
  std::unique_ptr<ChatService> chats_;
  std::unique_ptr<AuthService> auth_;
  asio::io_context io_;

  store::User alice_;
  store::User bob_;
  store::Character aria_;
};

}  // namespace troupe::chat::testing
