#include "chat/TurnService.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/AwaitCompletion.h"
#include "core/Offload.h"

namespace troupe::chat {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kMaxContentBytes = 256 * 1024;
}

asio::awaitable<GenerationManager::Reserve> TurnService::reserve(store::Id chat_id, store::Id user_id) {
  // A generation that is storing its final state frees the chat within moments: a client that saw
  // it finish and posts at once should not get a 409 for that.
  auto r = gm_.reserve(chat_id, user_id);
  asio::steady_timer t(co_await asio::this_coro::executor);
  for (int i = 0; i < 250 && r == GenerationManager::Reserve::chat_busy && gm_.finishing(chat_id); ++i) {
    t.expires_after(std::chrono::milliseconds(2));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    r = gm_.reserve(chat_id, user_id);
  }
  co_return r;
}

asio::awaitable<Result<store::Turn>> TurnService::post_message(const store::User& user,
                                                               store::Id chat_id,
                                                               std::string content,
                                                               std::string idempotency_key) {
  if (content.empty()) co_return make_error(Errc::bad_request, "content must not be empty");
  if (content.size() > kMaxContentBytes) {
    co_return make_error(Errc::too_large, "content is larger than 256 KiB");
  }
  if (idempotency_key.size() > 200) {
    co_return make_error(Errc::bad_request, "Idempotency-Key is longer than 200 characters");
  }
  auto ctx = co_await load_context(user, chat_id, true);  // only the ids and records are used
  if (!ctx.ok()) co_return ctx.error();

  // Held until the turn is durable (or refused): a concurrent request with the same key gets a
  // clear 409 instead of racing this one; a retry after it answers with the stored turn.
  IdempotencyGate::Hold key_hold;
  if (!idempotency_key.empty()) {
    switch (idempotency_.enter(user.id, idempotency_key, key_hold)) {
      case IdempotencyGate::Enter::ok:
        break;
      case IdempotencyGate::Enter::in_flight:
        co_return make_error(Errc::conflict,
                             "a request with this Idempotency-Key is still being processed; retry");
      case IdempotencyGate::Enter::full:
        co_return make_error(Errc::unavailable, "too many requests in flight");
    }
    auto earlier = co_await offload(d_.db_pool, [&] {
      return d_.chats.find_turn(user.id, idempotency_key);
    });
    if (!earlier.ok()) co_return earlier.error();
    if (earlier->has_value()) {
      store::Turn t = std::move(**earlier);
      if (t.user_message.chat_id != chat_id) {
        co_return make_error(Errc::conflict, "Idempotency-Key was already used for another chat");
      }
      t.replayed = true;
      co_return t;
    }
  }
  switch (co_await reserve(chat_id, user.id)) {
    case GenerationManager::Reserve::ok:
      break;
    case GenerationManager::Reserve::chat_busy:
      co_return make_error(Errc::conflict, "a generation is already running in this chat");
    case GenerationManager::Reserve::user_limit:
      co_return make_error(Errc::rate_limited, "too many generations running for this user (limits.user_generations)");
    case GenerationManager::Reserve::closing:
      co_return make_error(Errc::unavailable, "server is shutting down");
  }
  if (auto leased = co_await gm_.acquire_lease(chat_id); !leased.ok()) {
    gm_.unlock(chat_id);
    co_return leased.error();
  }
  std::optional<HistoryPath> history;
  HistoryCache::Ticket ticket = 0;
  std::optional<Result<store::Turn>> stored;
  if (d_.chats.async_writes()) {
    const store::Id leaf = d_.config.generation.early_start ? gm_.history_cache().leaf(chat_id) : 0;
    if (leaf != 0) {
      auto quick = co_await post_pending(user, ctx.value(), leaf, content, idempotency_key);
      if (quick) co_return std::move(*quick);
    }
    // Queued to the store's writer from here; this coroutine resumes after the commit. The
    // prompt's history comes from the history cache, or the generation reads it itself (after
    // the acknowledgement is on its way).
    stored = co_await await_completion<Result<store::Turn>>(
        [&](std::function<void(Result<store::Turn>)> done) {
          d_.chats.begin_turn_async(user.id, chat_id, content, idempotency_key,
                                    std::string(d_.llm.name()), std::move(done));
        });
    if (stored->ok() && !stored->value().replayed) history = gm_.cached_history(stored->value(), ticket);
  } else {
    // The prompt's history is read in the same pool hop, right after the turn is stored.
    stored = co_await offload(d_.db_pool, [&] {
      auto t = d_.chats.begin_turn(user.id, chat_id, content, idempotency_key,
                                   std::string(d_.llm.name()));
      if (t.ok() && !t->replayed) {
        history = gm_.cached_history(t.value(), ticket);
        if (!history) {
          ticket = gm_.history_ticket();
          history = history_or_none(t.value());
        }
      }
      return t;
    });
  }
  Result<store::Turn> turn = std::move(*stored);
  if (!turn.ok() || turn->replayed) {
    gm_.unlock(chat_id);
    co_return turn;
  }
  auto s = co_await launch(user, std::move(ctx).value(), *turn, std::move(history), ticket);
  if (!s.ok()) co_return s.error();
  co_return turn;
}

asio::awaitable<std::optional<Result<store::Turn>>> TurnService::post_pending(
    const store::User& user, Context& ctx, store::Id leaf, const std::string& content,
    const std::string& idempotency_key) {
  const store::Id chat_id = ctx.chat.id;
  const std::int64_t now = d_.clock.now_ms();
  store::Turn turn;  // as it will be stored, without the ids the store assigns
  turn.user_message.chat_id = chat_id;
  turn.user_message.parent_id = leaf;
  turn.user_message.role = "user";
  turn.user_message.content = content;
  turn.user_message.created_at = turn.user_message.updated_at = now;
  turn.generation.chat_id = chat_id;
  turn.generation.user_id = user.id;
  turn.generation.kind = "reply";
  turn.generation.status = "running";
  turn.generation.backend = std::string(d_.llm.name());
  turn.generation.started_at = now;
  turn.reply.chat_id = chat_id;
  turn.reply.role = "assistant";
  turn.reply.status = "streaming";
  HistoryCache::Ticket ticket = 0;
  std::optional<HistoryPath> history = gm_.cached_history(turn, ticket);
  if (!history) co_return std::nullopt;

  // The generation runs on this thread, next after this coroutine suspends: it runs until its
  // first wait, then the turn's write is queued (PendingTurn.h); the write's completion then
  // resumes this request and announces the turn on the same thread.
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto pending = std::make_shared<PendingTurn>(
      d_, chat_id, leaf, ex,
      [gm = &gm_, chat_id](const store::Turn& t) { gm->bind(chat_id, t.generation.id); });
  GenerationJob job = make_job(user, ctx, turn, std::move(history), ticket);
  job.pending = pending;
  job.write_release = PendingTurn::WriteRelease(pending);
  if (!gm_.launch(ex, std::move(job))) {
    co_return make_error(Errc::unavailable, "server is shutting down");  // nothing was stored
  }
  pending->hold_write([chats = &d_.chats, user_id = user.id, chat_id, content,
                       idempotency_key, backend = std::string(d_.llm.name())](
                          std::shared_ptr<PendingTurn> p) mutable {
    auto early = p->early();
    chats->begin_turn_async(
        user_id, chat_id, std::move(content), std::move(idempotency_key), std::move(backend),
        [p = std::move(p)](Result<store::Turn> r) { p->complete(std::move(r)); }, std::move(early));
  });
  Result<store::Turn> stored = co_await pending->result();
  // Not stored, or an earlier turn replayed: the generation ends unseen (stopped here at once).
  if (!stored.ok() || stored->replayed) gm_.abandon(chat_id, pending.get());
  co_return stored;
}

asio::awaitable<Result<store::Turn>> TurnService::start_generation(const store::User& user,
                                                                   store::Id chat_id,
                                                                   std::string kind,
                                                                   store::Id message_id) {
  if (kind != "regenerate" && kind != "continue") {
    co_return make_error(Errc::bad_request, "kind must be \"regenerate\" or \"continue\"");
  }
  auto ctx = co_await load_context(user, chat_id, false);  // needs the chat's current leaf
  if (!ctx.ok()) co_return ctx.error();
  if (message_id == 0) message_id = ctx->chat.leaf_id;
  if (message_id == 0) co_return make_error(Errc::bad_request, "the chat has no message to use");
  auto target = co_await offload(d_.db_pool, [&] { return d_.chats.get_message(user.id, message_id); });
  if (!target.ok()) co_return target.error();
  if (target->chat_id != chat_id) co_return make_error(Errc::not_found, "message not found in this chat");
  if (target->role != "assistant") {
    co_return make_error(Errc::bad_request, "only an assistant message can be regenerated or continued");
  }
  switch (co_await reserve(chat_id, user.id)) {
    case GenerationManager::Reserve::ok:
      break;
    case GenerationManager::Reserve::chat_busy:
      co_return make_error(Errc::conflict, "a generation is already running in this chat");
    case GenerationManager::Reserve::user_limit:
      co_return make_error(Errc::rate_limited, "too many generations running for this user (limits.user_generations)");
    case GenerationManager::Reserve::closing:
      co_return make_error(Errc::unavailable, "server is shutting down");
  }
  if (auto leased = co_await gm_.acquire_lease(chat_id); !leased.ok()) {
    gm_.unlock(chat_id);
    co_return leased.error();
  }
  std::optional<HistoryPath> history;
  HistoryCache::Ticket ticket = 0;
  auto turn = co_await offload(d_.db_pool, [&] {
    auto t = d_.chats.begin_generation(user.id, chat_id, kind, message_id, std::string(d_.llm.name()));
    if (t.ok()) {
      // The chat's leaf moved to the new reply: its cached path is stale (forgotten before the
      // ticket of this read is taken, so this generation may cache its own path).
      gm_.forget_history(chat_id);
      ticket = gm_.history_ticket();
      history = history_or_none(t.value());
    }
    return t;
  });
  if (!turn.ok()) {
    gm_.unlock(chat_id);
    co_return turn;
  }
  auto s = co_await launch(user, std::move(ctx).value(), *turn, std::move(history), ticket);
  if (!s.ok()) co_return s.error();
  co_return turn;
}

asio::awaitable<Result<TurnService::Context>> TurnService::load_context(const store::User& user,
                                                                       store::Id chat_id,
                                                                       bool cached) {
  // A turn publishes a few dozen events; the headroom keeps the stream from reserving more
  // sequence numbers (a store write) on an I/O thread during it.
  constexpr std::int64_t kStreamHeadroom = 1 << 16;
  if (cached && d_.contexts && d_.bus.ready(chat_id, kStreamHeadroom)) {
    if (auto hit = d_.contexts->get(user.id, chat_id)) co_return std::move(*hit);
  }
  const ContextCache::Ticket ticket = d_.contexts ? d_.contexts->ticket(user.id) : 0;
  co_return co_await offload(d_.db_pool, [&]() -> Result<Context> {
    auto chat = d_.chats.get_chat(user.id, chat_id);
    if (!chat.ok()) return chat.error();
    auto character = d_.characters.get_character(user.id, chat->character_id);
    if (!character.ok()) return character.error();
    auto p = chat->persona_id ? d_.characters.get_persona(user.id, chat->persona_id)
                              : d_.characters.default_persona(user.id);
    // Only a definite answer is cached (not a persona read that failed for another reason).
    const bool definite = p.ok() || p.error().code == Errc::not_found;
    std::optional<store::Persona> persona;
    if (p.ok()) persona = std::move(p).value();
    Context c{std::move(chat).value(), Participants::of(std::move(character).value(), std::move(persona))};
    TROUPE_TRY_STATUS(d_.bus.prepare(chat_id));
    if (d_.contexts && definite) d_.contexts->put(user.id, c, ticket);
    return c;
  });
}

std::optional<HistoryPath> TurnService::history_or_none(const store::Turn& turn) const {
  auto h = gm_.load_history(turn);
  if (!h.ok()) return std::nullopt;  // the generation tries again (and reports) itself
  return HistoryPath{std::move(h).value(), {}};
}

asio::awaitable<Status> TurnService::launch(const store::User& user, Context ctx,
                                            store::Turn& turn,
                                            std::optional<HistoryPath> history,
                                            HistoryCache::Ticket ticket) {
  const store::Id chat_id = ctx.chat.id;
  sync::EventBatch batch;  // the turn's announcement, as one run of events
  if (turn.user_message.id && turn.generation.kind == "reply") {
    // (For regenerate/continue, user_message is the existing parent: nothing new to announce.)
    batch.add("message.created") += d_.fmt.message(turn.user_message);
  }
  if (turn.reply.id && turn.generation.kind != "continue") {
    batch.add("message.created") += d_.fmt.message(turn.reply);
  }
  batch.add("generation.started") += d_.fmt.generation(turn.generation);
  (void)d_.bus.publish_batch(chat_id, batch);

  const asio::any_io_executor own = co_await asio::this_coro::executor;
  gm_.launch(generation_executor(own, chat_id), make_job(user, ctx, turn, std::move(history), ticket));
  co_return Status{};
}

GenerationJob TurnService::make_job(const store::User& user, Context& ctx, const store::Turn& turn,
                                    std::optional<HistoryPath> history,
                                    HistoryCache::Ticket ticket) {
  GenerationJob job;
  job.turn = turn;
  job.who = ctx.who;
  job.user_name = job.who->persona ? job.who->persona->name : user.name;
  job.history = std::move(history);
  job.history_ticket = ticket;
  return job;
}

asio::any_io_executor TurnService::generation_executor(asio::any_io_executor own,
                                                       store::Id chat_id) const {
  // On the thread of a client that follows the chat, if one does: the generation's events then
  // reach it without a cross-thread wake-up per burst (the request's own thread otherwise).
  if (auto near = d_.bus.subscriber_executor(chat_id)) return std::move(*near);
  return own;
}

asio::awaitable<Result<store::Generation>> TurnService::get(const store::User& user,
                                                            store::Id gen_id) {
  auto g = co_await offload(d_.db_pool, [&] { return d_.chats.get_generation(user.id, gen_id); });
  if (g.ok() && d_.memory) {
    auto used = co_await d_.memory->used_by(gen_id);
    if (used.ok()) {
      g->retrieval_mode = used->mode;
      for (auto& u : used->used) g->memory_ids.push_back(u.memory_id);
    }
  }
  co_return g;
}

asio::awaitable<Result<memory::RetrievalResult>> TurnService::used_memories(
    const store::User& user, store::Id gen_id) {
  auto g = co_await offload(d_.db_pool, [&] { return d_.chats.get_generation(user.id, gen_id); });
  if (!g.ok()) co_return g.error();
  memory::RetrievalResult none;
  none.mode = "";
  if (!d_.memory) co_return none;
  co_return co_await d_.memory->used_memories(gen_id);
}

asio::awaitable<Result<store::Generation>> TurnService::stop(const store::User& user,
                                                             store::Id gen_id) {
  auto g = co_await offload(d_.db_pool, [&] { return d_.chats.get_generation(user.id, gen_id); });
  if (!g.ok()) co_return g;
  // False when it already ended (stopping is idempotent) or when another node runs it: then the
  // request travels to every node and the one running it stops it.
  if (!gm_.stop(gen_id) && g->status == "running" && d_.bus.shared()) {
    d_.bus.publish_control(GenerationManager::kStopTopic, std::to_string(gen_id));
  }
  co_return g;
}

}  // namespace troupe::chat
