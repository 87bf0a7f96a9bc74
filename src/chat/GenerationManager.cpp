#include "chat/GenerationManager.h"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include "chat/MemoryRecall.h"
#include "chat/TokenEvents.h"
#include "core/Offload.h"

namespace troupe::chat {

namespace asio = boost::asio;

namespace {

// Collects streamed text, publishes one token event per piece (through `pending` while the turn
// is not stored yet) and persists the partial text on the DB pool every flush interval.
class StreamSink final : public llm::TokenSink {
 public:
  StreamSink(const Deps& d, const store::Generation& g, std::string base, Histogram* ttft,
             Histogram* inter_token, PendingTurn* pending)
      : d_(d), g_(g), base_(std::move(base)), ttft_(ttft), inter_token_(inter_token), pending_(pending),
        last_(std::chrono::steady_clock::now()),
        next_flush_(std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(d.config.generation.flush_interval_ms)) {}

  void on_token(std::string_view piece) override {
    if (piece.empty()) return;
    auto t = std::chrono::steady_clock::now();
    Histogram* h = text_.empty() ? ttft_ : inter_token_;
    if (h) h->observe(std::chrono::duration<double>(t - last_).count());
    last_ = t;
    text_ += piece;
    held_ends_.push_back(text_.size());
    if (held_ends_.size() >= kMaxHeldPieces || text_.size() - sent_ >= kMaxHeldBytes) send_held();
    auto now = std::chrono::steady_clock::now();
    if (now >= next_flush_) {
      next_flush_ = now + std::chrono::milliseconds(d_.config.generation.flush_interval_ms);
      flush();
    }
  }

  // The backend is about to wait (or ended): a pending turn's write may go once the generation
  // suspends (PendingTurn.h), and the pieces held since the last pause go out.
  void on_pause() override {
    if (pending_) pending_->release_write_soon();
    send_held();
  }

  // The held pieces go out as one run of token events (through `pending` while the turn is not
  // stored yet).
  void send_held() {
    if (held_ends_.empty()) return;
    if (pending_) {
      pending_->tokens(text_, sent_, held_ends_);
    } else {
      batch_.clear();  // reused buffers: no allocation once warm
      auto st = publish_token_events(d_.bus, g_.chat_id, batch_, d_.fmt, g_.id, g_.message_id,
                                     text_, sent_, held_ends_);
      if (!st.ok()) spdlog::warn("chat {}: token events not published: {}", g_.chat_id, st.error().message);
    }
    sent_ = text_.size();
    held_ends_.clear();
  }

  bool wanted() const override { return !pending_ || pending_->wanted(); }

  void flush() {
    // Fire-and-forget on the DB pool; a late partial write never overwrites a final one (the store
    // only updates messages still "streaming"). A pending turn's reply: once it is stored.
    const store::Id message_id = pending_ ? pending_->reply_id() : g_.message_id;
    if (message_id == 0) return;
    asio::post(d_.db_pool, [chats = &d_.chats, id = message_id, content = full_text()] {
      auto s = chats->save_partial(id, content);
      if (!s.ok()) spdlog::warn("message {}: partial text not saved: {}", id, s.error().message);
    });
  }

  std::string full_text() const { return base_ + text_; }
  std::size_t pieces() const { return text_.size(); }

 private:
  const Deps& d_;
  const store::Generation& g_;
  std::string base_;
  Histogram* ttft_;
  Histogram* inter_token_;
  PendingTurn* pending_;
  std::chrono::steady_clock::time_point last_;
  // Held pieces beyond which on_token() sends them on without waiting for a pause.
  static constexpr std::size_t kMaxHeldPieces = 256;
  static constexpr std::size_t kMaxHeldBytes = 64 * 1024;
  std::string text_;
  std::size_t sent_ = 0;                 // text_ before this went out as events
  std::vector<std::size_t> held_ends_;   // ends (in text_) of the pieces held since
  sync::EventBatch batch_;
  std::chrono::steady_clock::time_point next_flush_;
};

}  // namespace

GenerationManager::GenerationManager(Deps deps, sync::ChatLeases* leases)
    : deps_(deps),
      leases_(leases ? leases : &local_leases_),
      dead_(deps, "lease"),
      alive_(std::make_shared<Alive>()),
      prompts_(PromptSettings{deps.config.generation.system_prompt, deps.config.llm.context_size,
                              deps.config.llm.max_tokens, deps.config.llm.temperature,
                              deps.config.llm.top_p},
               counter_),
      // 4096 chats, 64 MiB of text; none with a shared bus (another node may change a chat).
      history_(deps.bus.shared() ? 0 : 4096, std::size_t{64} << 20),
      scope_(TaskScope::create(deps.tasks, "generations")) {
  if (auto* r = deps.metrics) {
    m_.ttft = &r->histogram("troupe_generation_time_to_first_token_seconds",
                            "Time from the start of a generation to its first token.");
    m_.inter_token = &r->histogram("troupe_generation_inter_token_seconds",
                                   "Time between consecutive tokens of a generation.",
                                   {}, {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5});
    const char* names[5] = {"completed", "stopped", "failed", "interrupted", "other"};
    for (int i = 0; i < 5; ++i) {
      m_.outcomes[i] = &r->counter("troupe_generations_total", "Finished generations by outcome.",
                                   {{"outcome", names[i]}});
    }
    r->collect("troupe_generations_running", "Generations running now.",
               [this] { return std::vector<std::pair<MetricsRegistry::Labels, double>>{{{}, static_cast<double>(running_count())}}; });
    r->collect("troupe_history_cache_lookups",
               "Turns whose prompt history came from the history cache (hit) or the store (miss).", [this] {
                 auto st = history_.stats();
                 return std::vector<std::pair<MetricsRegistry::Labels, double>>{
                     {{{"result", "hit"}}, static_cast<double>(st.hits)},
                     {{{"result", "miss"}}, static_cast<double>(st.misses)}};
               });
    r->collect("troupe_history_cache_bytes", "Message text held by the history cache.", [this] {
      return std::vector<std::pair<MetricsRegistry::Labels, double>>{
          {{}, static_cast<double>(history_.stats().bytes)}};
    });
    r->collect("troupe_turns_started_before_stored",
               "Reply turns whose generation started while the turn's write was queued (started), "
               "and those whose reply was stored in the turn's own commit (stored_with_turn).",
               [this] {
                 auto st = pending_stats();
                 return std::vector<std::pair<MetricsRegistry::Labels, double>>{
                     {{{"result", "started"}}, static_cast<double>(st.started)},
                     {{{"result", "stored_with_turn"}}, static_cast<double>(st.stored_with_turn)}};
               });
    if (leases_->shared()) {
      lease_losses_ = &r->counter("troupe_chat_lease_losses_total",
                                  "Chat leases lost while a generation held them (it stopped as interrupted).");
    }
  }
  alive_->gm = this;
  // Stop requests sent to any node reach the node running the generation.
  stop_sub_ = deps_.bus.subscribe_control(kStopTopic, [alive = alive_](const std::string& payload) {
    store::Id id = 0;
    try {
      id = std::stoll(payload);
    } catch (const std::exception&) {
      return;
    }
    std::lock_guard lock(alive->mu);
    if (alive->gm && id > 0) alive->gm->stop(id);
  });
}

void GenerationManager::count_outcome(const std::string& status) {
  if (!m_.outcomes[0]) return;
  int i = status == "completed" ? 0 : status == "stopped" ? 1 : status == "failed" ? 2 : status == "interrupted" ? 3 : 4;
  m_.outcomes[i]->inc();
}

GenerationManager::~GenerationManager() {
  deps_.bus.unsubscribe_control(stop_sub_);
  {
    std::lock_guard lock(alive_->mu);
    alive_->gm = nullptr;
  }
  scope_->cancel();
}

GenerationManager::Reserve GenerationManager::reserve(store::Id chat_id, store::Id user_id) {
  std::lock_guard lock(mu_);
  if (closing_) return Reserve::closing;
  if (by_chat_.count(chat_id)) return Reserve::chat_busy;
  const int limit = deps_.config.limits.user_generations;
  if (user_id && limit > 0 && per_user_[user_id] >= limit) return Reserve::user_limit;
  Running r;
  r.user_id = user_id;
  by_chat_.emplace(chat_id, r);
  if (user_id) ++per_user_[user_id];
  return Reserve::ok;
}

void GenerationManager::erase_locked(std::unordered_map<store::Id, Running>::iterator it) {
  if (auto u = it->second.user_id) {
    auto p = per_user_.find(u);
    if (p != per_user_.end() && --p->second <= 0) per_user_.erase(p);
  }
  by_chat_.erase(it);
}

bool GenerationManager::finishing(store::Id chat_id) const {
  std::lock_guard lock(mu_);
  auto it = by_chat_.find(chat_id);
  return it != by_chat_.end() && it->second.finishing;
}

void GenerationManager::mark_finishing(store::Id chat_id) {
  std::lock_guard lock(mu_);
  auto it = by_chat_.find(chat_id);
  if (it != by_chat_.end()) it->second.finishing = true;
}

void GenerationManager::unlock(store::Id chat_id) {
  std::shared_ptr<sync::ChatLease> lease;
  {
    std::lock_guard lock(mu_);
    auto it = by_chat_.find(chat_id);
    if (it == by_chat_.end() || it->second.launched) return;
    lease = std::move(it->second.lease);
    erase_locked(it);
  }
  if (lease) lease->release_detached();
}

bool GenerationManager::launch(const asio::any_io_executor& ex, GenerationJob job) {
  const auto gen_id = job.turn.generation.id;  // 0 for a pending turn: bind() sets it
  const auto chat_id = job.turn.generation.chat_id;
  const PendingTurn* pending = job.pending.get();
  {
    std::lock_guard lock(mu_);
    auto& r = by_chat_[chat_id];
    if (gen_id) {
      r.generation_id = gen_id;
      chat_of_generation_[gen_id] = chat_id;
    }
    r.pending = pending;
    r.launched = true;
  }
  if (job.pending) pending_started_.fetch_add(1, std::memory_order_relaxed);
  TaskSpec spec{"generation", "chat:" + std::to_string(chat_id),
                std::chrono::milliseconds(deps_.config.generation.max_duration_ms)};
  // The body runs once: the job (with its history) moves on into the coroutine, not copied.
  auto task = scope_->spawn(ex, std::move(spec), [this, job = std::move(job)](std::shared_ptr<Task> t) mutable {
    return run(this, std::move(t), std::move(job));
  });
  std::unique_lock lock(mu_);
  auto it = by_chat_.find(chat_id);
  if (!task) {
    // Scope closed (shutdown): record the generation as interrupted right away, then give the
    // chat's lease back.
    std::shared_ptr<sync::ChatLease> lease;
    if (auto it = by_chat_.find(chat_id); it != by_chat_.end()) {
      lease = std::move(it->second.lease);
      erase_locked(it);
    }
    chat_of_generation_.erase(gen_id);
    if (gen_id == 0) {
      if (lease) lease->release_detached();
      return false;
    }
    asio::post(deps_.db_pool, [chats = &deps_.chats, gen_id, lease] {
      (void)chats->finish_generation(gen_id, "interrupted", "", "server shutting down");
      if (lease) lease->release_detached();
    });
    return false;
  }
  // The task may already have ended (and freed the chat) on another thread: never re-create the
  // entry, or the chat would stay locked.
  bool stop_now = false;
  if (it != by_chat_.end() && it->second.launched &&
      (pending ? it->second.pending == pending : it->second.generation_id == gen_id)) {
    it->second.task_id = task->id();
    stop_now = it->second.stop_requested;
  }
  lock.unlock();
  if (stop_now) scope_->cancel_task(task->id());
  return true;
}

bool GenerationManager::stop(store::Id generation_id) {
  std::uint64_t task_id = 0;
  {
    std::lock_guard lock(mu_);
    auto it = chat_of_generation_.find(generation_id);
    if (it == chat_of_generation_.end()) return false;
    auto r = by_chat_.find(it->second);
    if (r == by_chat_.end() || r->second.generation_id != generation_id) return false;
    if (!r->second.task_id) {
      // Launched, its task id not recorded yet: launch() cancels it once it is.
      r->second.stop_requested = true;
      return true;
    }
    task_id = r->second.task_id;
  }
  return scope_->cancel_task(task_id);
}

std::optional<store::Id> GenerationManager::running(store::Id chat_id) const {
  std::lock_guard lock(mu_);
  auto it = by_chat_.find(chat_id);
  // (A pending generation has no id until its turn is stored: none to show yet.)
  if (it == by_chat_.end() || !it->second.launched || !it->second.generation_id) return std::nullopt;
  return it->second.generation_id;
}

std::size_t GenerationManager::running_count() const {
  std::lock_guard lock(mu_);
  return by_chat_.size();
}

bool GenerationManager::interrupted(store::Id chat_id) const {
  std::lock_guard lock(mu_);
  auto it = by_chat_.find(chat_id);
  return it != by_chat_.end() && it->second.interrupted;
}

void GenerationManager::finished(store::Id chat_id) {
  std::lock_guard lock(mu_);
  auto it = by_chat_.find(chat_id);
  if (it == by_chat_.end()) return;
  chat_of_generation_.erase(it->second.generation_id);
  erase_locked(it);
}

void GenerationManager::shutdown(std::chrono::milliseconds finish_grace,
                                 std::chrono::milliseconds persist_grace) {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  if (scope_->wait_empty(finish_grace)) {
    scope_->cancel();
    return;
  }
  {
    std::lock_guard lock(mu_);
    for (auto& [chat, r] : by_chat_) r.interrupted = true;
  }
  scope_->cancel();
  if (!scope_->wait_empty(persist_grace)) {
    spdlog::error("{} generation(s) did not persist within the shutdown grace", scope_->size());
  }
}

std::function<bool(const store::Message&)> GenerationManager::history_budget_reached() const {
  return [this, used = 0](const store::Message& m) mutable {
    used += prompts_.message_cost(m.content);
    return used > prompts_.history_budget();
  };
}

Result<std::vector<store::Message>> GenerationManager::load_history(const store::Turn& turn) const {
  const bool is_continue = turn.generation.kind == "continue";
  const store::Id until = is_continue ? turn.reply.id : turn.reply.parent_id;
  if (until == 0) return std::vector<store::Message>{};
  // Only the newest messages the prompt can hold: read upwards from `until` until their cost
  // exceeds the budget (PromptBuilder keeps a suffix within it), so a turn's cost does not grow
  // with the chat's length.
  return deps_.chats.path_tail(turn.generation.chat_id, until, kMaxHistoryMessages,
                               history_budget_reached());
}

std::optional<HistoryPath> GenerationManager::cached_history(const store::Turn& turn,
                                                             HistoryCache::Ticket& ticket) {
  // (A pending turn's user message has no id yet, only its parent.)
  if (turn.generation.kind != "reply" || (turn.user_message.id == 0 && turn.user_message.parent_id == 0)) {
    return std::nullopt;
  }
  auto path = history_.extend(turn.user_message, ticket);
  if (!path) return std::nullopt;
  // Only the new message is counted here (the rest were when they joined the path).
  path->count_rest([this](std::string_view content) { return prompts_.message_cost(content); });
  // Keep what load_history would have read: newest first until the costs pass the budget.
  const std::size_t n = path->messages.size();
  const int budget = prompts_.history_budget();
  int used = 0;
  std::size_t first = n;
  while (first > 0 && n - first < static_cast<std::size_t>(kMaxHistoryMessages)) {
    used += path->costs[--first];
    if (used > budget) break;
  }
  path->drop_front(first);
  return path;
}

asio::awaitable<void> GenerationManager::run(GenerationManager* self, std::shared_ptr<Task> task,
                                             GenerationJob job) {
  co_await asio::this_coro::throw_if_cancelled(false);
  const Deps& d = self->deps_;
  store::Generation gen = job.turn.generation;
  store::Message reply = job.turn.reply;
  const bool is_continue = gen.kind == "continue";

  std::vector<store::Message> history;
  std::vector<int> costs;
  if (job.history) {
    history = std::move(job.history->messages);
    costs = std::move(job.history->costs);
  } else {
    task->set_state("loading history");
    job.history_ticket = self->history_.ticket();
    auto h = co_await offload(d.db_pool, [self, &job] { return self->load_history(job.turn); });
    if (h.ok()) history = std::move(h).value();
  }

  PromptInput input{&job.who->character, job.who->persona ? &*job.who->persona : nullptr,
                    job.user_name, std::move(history), is_continue};
  input.history_costs = std::move(costs);
  const std::shared_ptr<const PromptPrefix> prefix = job.who->prefix(self->prompts_, job.user_name);
  input.prefix = prefix.get();
  task->set_state("recalling");
  const bool recalled = d.memory && d.memory->enabled() && !input.history.empty();
  // Recalling waits for the memory engine: a pending turn's write goes first.
  if (recalled && job.pending) job.pending->release_write();
  memory::RetrievalResult used = co_await recall_memories(d, self->prompts_, job, input, gen);
  auto request = self->prompts_.build(input);

  StreamSink sink(d, gen, is_continue ? reply.content : std::string(), self->m_.ttft,
                  self->m_.inter_token, job.pending.get());
  task->set_state("streaming");
  // A lease lost before streaming began: do not start (another node may own the chat now).
  // (No co_await inside a conditional expression: GCC 12 mis-destroys its temporaries.)
  Status result = make_error(Errc::cancelled, "chat lease lost");
  if (!self->lost_lease(gen.chat_id)) result = co_await d.llm.stream(request, sink);
  sink.on_pause();  // whatever the backend still held back goes out before the end

  // Whatever happened, persist: clear a pending cancellation first so the awaits below run.
  auto cs = co_await asio::this_coro::cancellation_state;
  bool was_cancelled = cs.cancelled() != asio::cancellation_type::none;
  co_await asio::this_coro::reset_cancellation_state();
  co_await asio::this_coro::throw_if_cancelled(false);

  std::string status = "completed";
  std::string error;
  if (!result.ok()) {
    if (result.error().code == Errc::cancelled || was_cancelled) {
      // The task's deadline timer fires at or after task->deadline(); measuring from the start
      // of this coroutine instead would come out a little short and report "stopped".
      if (std::chrono::steady_clock::now() >= task->deadline()) {
        status = "failed";
        error = "generation exceeded generation.max_duration_ms";
      } else {
        status = self->interrupted(gen.chat_id) ? "interrupted" : "stopped";
        if (self->lost_lease(gen.chat_id)) error = "the chat's generation lease was lost";
      }
    } else {
      status = "failed";
      error = result.error().message;
    }
  }
  const std::string content = sink.full_text();
  bool stored_with_turn = false;
  if (job.pending) {
    // Started before its turn was stored: hand the final state to the turn's write and wait for
    // the turn (the events go out once it is durable).
    task->set_state("awaiting its turn");
    bool redo = false;
    const store::EarlyFinish::State final_state{status, content, error};
    const bool stored = co_await settle_pending(self, job, gen, reply, input.history, final_state,
                                                stored_with_turn, redo);
    if (!stored) co_return;
    if (redo) {
      co_await run(self, std::move(task), std::move(job));
      co_return;
    }
  }
  task->set_state("persisting");
  self->mark_finishing(gen.chat_id);
  gen.status = status;
  gen.error = error;
  reply.content = content;
  reply.status = status;
  self->count_outcome(status);
  // Memories before the end is announced: a client that sees generation.finished can read what
  // the generation used, and remembers of this turn are searchable in the next one. At shutdown
  // (interrupted) the generation's own state is stored first.
  const bool remember_first = status != "interrupted";
  if (remember_first) {
    task->set_state("remembering");
    co_await remember_turn(d, job, gen.id, std::move(used), recalled, reply, input.memories);
    task->set_state("persisting");
  }
  // The path this prompt saw plus the stored reply is the chat's new leaf path: the next turn's
  // prompt can start from it (a continued reply replaced the history's last message: not cached).
  std::optional<HistoryPath> cache_path;
  if (status == "completed" && !is_continue) {
    cache_path = HistoryPath{std::move(input.history), std::move(input.history_costs)};
    cache_path->messages.push_back(reply);
    cache_path->count_rest([self](std::string_view text) { return self->prompts_.message_cost(text); });
  }
  co_await store_and_announce(self, gen, reply, status, content, error,
                              cache_path ? &*cache_path : nullptr, job.history_ticket,
                              stored_with_turn);
  if (!remember_first) {
    task->set_state("remembering");
    co_await remember_turn(d, job, gen.id, std::move(used), recalled, reply, input.memories);
  }
}

}  // namespace troupe::chat
