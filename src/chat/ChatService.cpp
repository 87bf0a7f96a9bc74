#include "chat/ChatService.h"

#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include "chat/ContextCache.h"
#include "chat/Macros.h"
#include "chat/MemoryRecall.h"
#include "core/Offload.h"

namespace troupe::chat {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kMaxContentBytes = 256 * 1024;
constexpr std::size_t kMaxTitleBytes = 500;
}  // namespace

ChatView ChatService::view(store::Chat chat) {
  ChatView v;
  // A stream not prepared in this process will hand out numbers above the reserved mark. A
  // prepared one is authoritative, even at 0: a new chat's first event is seq 1, below its mark.
  auto live = d_.bus.last_seq(chat.id);
  v.last_seq = live >= 0 ? live : chat.seq_reserved;
  if (auto gid = gm_.running(chat.id)) {
    store::Generation g;
    g.id = *gid;
    g.chat_id = chat.id;
    g.status = "running";
    v.running = g;
  }
  v.chat = std::move(chat);
  return v;
}

void ChatService::publish_chat_updated(const store::Chat& chat) {
  // The chat's last_seq must be a seq a client can resume from: the stream's latest real seq (the
  // store's reserved mark runs ahead of it by a whole block). Read before publishing, it is below
  // this event's own seq, so resuming from it replays this event and misses nothing.
  const std::int64_t live = d_.bus.last_seq(chat.id);
  (void)d_.bus.publish(chat.id, "chat.updated", d_.fmt.chat(chat, live >= 0 ? live : 0));
}

asio::awaitable<Result<ChatView>> ChatService::create(const store::User& user,
                                                      store::Id character_id,
                                                      store::Id persona_id, std::string title) {
  if (title.size() > kMaxTitleBytes) co_return make_error(Errc::too_large, "title is longer than 500 bytes");
  // The records read to create the chat are its first turn's context and history: cached, the
  // new chat's subscription and first turn need no store read (tickets taken before the reads).
  const ContextCache::Ticket ticket = d_.contexts ? d_.contexts->ticket(user.id) : 0;
  const HistoryCache::Ticket history_ticket = gm_.history_ticket();
  std::optional<ChatContext> ctx;
  std::optional<store::Message> greeting;  // the selected greeting: the first turn's history
  auto chat = co_await offload(d_.db_pool, [&]() -> Result<store::Chat> {
    auto ch = d_.characters.get_character(user.id, character_id);
    if (!ch.ok()) return ch.error();
    std::string user_name = user.name;
    std::optional<store::Persona> persona;
    bool definite = true;  // the persona in effect is known (one, or none at all)
    if (persona_id) {
      auto p = d_.characters.get_persona(user.id, persona_id);
      if (!p.ok()) return p.error();
      persona = std::move(p).value();
    } else if (auto p = d_.characters.default_persona(user.id); p.ok()) {
      persona = std::move(p).value();
    } else {
      definite = p.error().code == Errc::not_found;
    }
    if (persona) user_name = persona->name;
    MacroValues mv{ch->name, user_name, ""};
    std::vector<std::string> greetings;
    if (!ch->first_mes.empty()) greetings.push_back(expand_macros(ch->first_mes, mv));
    for (auto& g : ch->alternate_greetings) {
      if (!g.empty()) greetings.push_back(expand_macros(g, mv));
    }
    store::Chat c;
    c.user_id = user.id;
    c.character_id = character_id;
    c.persona_id = persona_id;
    c.title = title.empty() ? "Chat with " + ch->name : title;
    c.seq_reserved = d_.bus.creation_block();
    auto made = d_.chats.create_chat(c, greetings);
    if (!made.ok()) return made;
    if (definite) ctx = ChatContext{*made, Participants::of(std::move(ch).value(), std::move(persona))};
    if (made->leaf_id != 0) {
      if (auto g = d_.chats.get_message(user.id, made->leaf_id); g.ok()) greeting = std::move(g).value();
    }
    return made;
  });
  if (!chat.ok()) co_return chat.error();
  // Its stream starts prepared: subscribing to the new chat or a first turn writes no seq block.
  d_.bus.adopt_new_chat(chat->id, chat->seq_reserved);
  if (d_.contexts && ctx) d_.contexts->put(user.id, *ctx, ticket);
  if (greeting) gm_.history_cache().remember(chat->id, std::vector<store::Message>{std::move(*greeting)}, history_ticket);
  co_return view(std::move(chat).value());
}

asio::awaitable<Result<ChatView>> ChatService::get(const store::User& user, store::Id chat_id) {
  auto chat = co_await offload(d_.db_pool, [&] { return d_.chats.get_chat(user.id, chat_id); });
  if (!chat.ok()) co_return chat.error();
  auto v = view(std::move(chat).value());
  if (v.running) {
    auto g = co_await offload(d_.db_pool, [&] { return d_.chats.get_generation(user.id, v.running->id); });
    if (g.ok()) v.running = std::move(g).value();
  }
  co_return v;
}

asio::awaitable<Result<std::vector<ChatView>>> ChatService::list(const store::User& user,
                                                                 store::Id character_id,
                                                                 store::Id after, int limit) {
  auto chats = co_await offload(d_.db_pool, [&] {
    return d_.chats.list_chats(user.id, character_id, after, limit);
  });
  if (!chats.ok()) co_return chats.error();
  std::vector<ChatView> out;
  out.reserve(chats->size());
  for (auto& c : *chats) out.push_back(view(std::move(c)));
  co_return out;
}

asio::awaitable<Status> ChatService::remove(const store::User& user, store::Id chat_id) {
  auto chat = co_await offload(d_.db_pool, [&] { return d_.chats.get_chat(user.id, chat_id); });
  if (!chat.ok()) co_return chat.error();
  if (auto gid = gm_.running(chat_id)) {
    co_return make_error(Errc::conflict, "a generation is running in this chat; stop it first");
  }
  // The chat's memories go with it in the store; list them first so the indexes and caches can
  // drop them too (a listing failure only leaves stale index entries, filtered on read).
  std::vector<store::RemovedMemory> memories;
  if (d_.memory && d_.memory->enabled()) {
    auto listed = co_await d_.memory->chat_memories(chat_id);
    if (listed.ok()) memories = std::move(listed).value();
  }
  auto s = co_await offload(d_.db_pool, [&] {
    auto r = d_.chats.delete_chat(user.id, chat_id);
    if (d_.contexts) d_.contexts->invalidate_user(user.id);
    return r;
  });
  if (s.ok()) {
    if (d_.contexts) d_.contexts->forget(chat_id);
    gm_.forget_history(chat_id);
    d_.bus.drop_chat(chat_id);
    if (!memories.empty()) co_await d_.memory->forget_listed(std::move(memories));
  }
  co_return s;
}

asio::awaitable<Result<memory::RetrievalResult>> ChatService::memories(const store::User& user,
                                                                      store::Id chat_id,
                                                                      std::string query, int limit) {
  if (query.empty()) co_return make_error(Errc::bad_request, "query must not be empty");
  if (query.size() > 4096) co_return make_error(Errc::too_large, "query is longer than 4096 bytes");
  if (limit < 1 || limit > 200) co_return make_error(Errc::bad_request, "limit must be 1..200");
  auto chat = co_await offload(d_.db_pool, [&] { return d_.chats.get_chat(user.id, chat_id); });
  if (!chat.ok()) co_return chat.error();
  if (!d_.memory || !d_.memory->enabled()) co_return memory::RetrievalResult{};
  auto window = co_await offload(d_.db_pool, [&] { return prompt_window(d_, user, *chat); });
  if (!window.ok()) co_return window.error();
  memory::RetrievalRequest req;
  req.scope = {user.id, chat->character_id, chat->id};
  req.query = std::move(query);
  req.window_message_ids = std::move(window).value();
  req.limit = limit;
  req.for_prompt = false;
  co_return co_await d_.memory->retrieve(std::move(req));
}

asio::awaitable<Result<store::PathPage>> ChatService::messages(const store::User& user,
                                                               store::Id chat_id,
                                                               store::Id before, int limit) {
  co_return co_await offload(d_.db_pool, [&]() -> Result<store::PathPage> {
    auto chat = d_.chats.get_chat(user.id, chat_id);
    if (!chat.ok()) return chat.error();
    if (before) {
      auto m = d_.chats.get_message(user.id, before);
      if (!m.ok() || m->chat_id != chat_id) return make_error(Errc::not_found, "message not found");
    }
    return d_.chats.path_page(chat_id, before, limit);
  });
}

asio::awaitable<Result<store::Message>> ChatService::edit(const store::User& user, store::Id id,
                                                          std::string content) {
  if (content.size() > kMaxContentBytes) co_return make_error(Errc::too_large, "content is larger than 256 KiB");
  auto m = co_await offload(d_.db_pool, [&] { return d_.chats.edit_message(user.id, id, content); });
  if (!m.ok()) co_return m;
  gm_.forget_history(m->chat_id);
  (void)co_await offload(d_.db_pool, [&] { return d_.bus.prepare(m->chat_id); });
  (void)d_.bus.publish(m->chat_id, "message.updated", d_.fmt.message(*m));
  if (d_.memory && d_.memory->enabled()) {
    // The memory follows the edit (replaced in place; empty text forgets it).
    auto chat = co_await offload(d_.db_pool, [&] { return d_.chats.get_chat(user.id, m->chat_id); });
    if (chat.ok()) {
      auto s = co_await d_.memory->remember({user.id, chat->character_id, chat->id}, *m);
      if (!s.ok()) spdlog::warn("message {}: memory not updated: {}", m->id, s.error().message);
    }
  }
  co_return m;
}

asio::awaitable<Result<store::Siblings>> ChatService::siblings(const store::User& user,
                                                              store::Id id) {
  co_return co_await offload(d_.db_pool, [&] { return d_.chats.siblings(user.id, id); });
}

asio::awaitable<Status> ChatService::remove_message(const store::User& user, store::Id id) {
  auto m = co_await offload(d_.db_pool, [&] { return d_.chats.get_message(user.id, id); });
  if (!m.ok()) co_return m.error();
  auto s = co_await offload(d_.db_pool, [&] { return d_.chats.delete_message(user.id, id); });
  gm_.forget_history(m->chat_id);  // also after a failure: never trust a path that may have changed
  if (!s.ok()) co_return s;
  auto chat = co_await offload(d_.db_pool, [&] {
    (void)d_.bus.prepare(m->chat_id);
    return d_.chats.get_chat(user.id, m->chat_id);
  });
  (void)d_.bus.publish(m->chat_id, "message.deleted", d_.fmt.message_deleted(id));
  if (d_.memory) {
    // The message's subtree is gone: so are the memories of every message in it.
    auto f = co_await d_.memory->forget(m->chat_id, {});
    if (!f.ok()) spdlog::warn("chat {}: memories of deleted messages not removed: {}", m->chat_id, f.error().message);
  }
  if (chat.ok()) publish_chat_updated(*chat);
  co_return Status{};
}

asio::awaitable<Result<ChatView>> ChatService::select(const store::User& user, store::Id id) {
  auto chat = co_await offload(d_.db_pool, [&] { return d_.chats.select_message(user.id, id); });
  if (!chat.ok()) co_return chat.error();
  gm_.forget_history(chat->id);
  (void)co_await offload(d_.db_pool, [&] { return d_.bus.prepare(chat->id); });
  publish_chat_updated(*chat);
  co_return view(std::move(chat).value());
}

asio::awaitable<Result<ChatView>> ChatService::branch(const store::User& user, store::Id id) {
  // Like a new chat, the branch is stored with its first seq block: its stream starts prepared.
  const std::int64_t block = d_.bus.creation_block();
  auto chat = co_await offload(d_.db_pool, [&] { return d_.chats.branch_from(user.id, id, block); });
  if (!chat.ok()) co_return chat.error();
  d_.bus.adopt_new_chat(chat->id, chat->seq_reserved);
  co_return view(std::move(chat).value());
}

asio::awaitable<Result<std::shared_ptr<sync::Subscription>>> ChatService::subscribe(
    const store::User& user, store::Id chat_id, std::int64_t after_seq) {
  // A chat whose context is cached for this user exists and is theirs; with its stream prepared,
  // subscribing needs no DB thread.
  if (d_.contexts && d_.bus.ready(chat_id, 1) && d_.contexts->holds(user.id, chat_id)) {
    auto ex = co_await asio::this_coro::executor;
    co_return d_.bus.subscribe(ex, chat_id, after_seq);
  }
  auto ok = co_await offload(d_.db_pool, [&]() -> Status {
    auto chat = d_.chats.get_chat(user.id, chat_id);
    if (!chat.ok()) return chat.error();
    return d_.bus.prepare(chat_id);
  });
  if (!ok.ok()) co_return ok.error();
  auto ex = co_await asio::this_coro::executor;
  co_return d_.bus.subscribe(ex, chat_id, after_seq);
}

}  // namespace troupe::chat
