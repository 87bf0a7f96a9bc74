#include "sync/redis/RedisBus.h"
#include "sync/redis/Envelope.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

namespace troupe::sync::redis {

namespace asio = boost::asio;

namespace {

// KEYS: counter, stream. ARGV: channel, json prefix, json suffix, maxlen, type, floor, publish
// time (µs since the epoch, the publishing node's wall clock). Pub/Sub payload:
// "<seq>:<publish µs> <type> <json>" (a payload without ":<µs>" is accepted too); the stream
// entry holds the same time in its field "us".
// Returns the event's seq, or -1 when the counter is missing (Redis lost its data: the chat must
// be prepared again so the counter restarts above the store's mark).
constexpr const char* kPublishScript = R"(
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local seq = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[6])
if seq <= floor then seq = floor + 1; redis.call('SET', KEYS[1], string.format('%d', seq)) end
local s = string.format('%d', seq)
local json = ARGV[2] .. s .. ARGV[3]
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], s .. '-0', 'type', ARGV[5], 'json', json, 'us', ARGV[7])
redis.call('PUBLISH', ARGV[1], s .. ':' .. ARGV[7] .. ' ' .. ARGV[5] .. ' ' .. json)
return seq
)";

// KEYS: counter. ARGV: floor. Creates the counter at `floor` when missing; returns its value.
constexpr const char* kSeedScript = R"(
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
return tonumber(redis.call('GET', KEYS[1]))
)";

// KEYS: counter. ARGV: value. Raises an existing counter to at least `value`.
constexpr const char* kBumpScript = R"(
local c = redis.call('GET', KEYS[1])
if c and tonumber(c) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 0
)";

// KEYS: counter, stream. ARGV: first id, count. Returns {last seq, oldest id or '', entries}.
constexpr const char* kReplayScript = R"(
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local firstid = ''
if first[1] then firstid = first[1][1] end
return {last, firstid, redis.call('XRANGE', KEYS[2], ARGV[1], '+', 'COUNT', ARGV[2])}
)";

std::string json_prefix(std::string_view type, std::int64_t chat_id) {
  std::string out = "{\"type\":\"";
  out += type;  // event types are fixed identifiers, never user text
  out += "\",\"chat_id\":";
  out += std::to_string(chat_id);
  out += ",\"seq\":";
  return out;
}

std::string json_suffix(std::string_view fields) {
  std::string out;
  if (!fields.empty()) {
    out += ',';
    out += fields;
  }
  out += '}';
  return out;
}

bool parse_i64(std::string_view s, std::int64_t& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

EventPtr make_event(std::int64_t chat_id, std::int64_t seq, std::string type, std::string json,
                    std::int64_t published_us = 0) {
  auto ev = std::make_shared<Event>();
  ev->chat_id = chat_id;
  ev->seq = seq;
  ev->published_us = published_us;
  ev->type = std::move(type);
  ev->json = std::move(json);
  return ev;
}

EventPtr make_resync(std::int64_t chat_id, std::int64_t seq) {
  return make_event(chat_id, seq, "resync", json_prefix("resync", chat_id) + std::to_string(seq) + "}");
}

}  // namespace

struct RedisBus::Local {
  Local(asio::any_io_executor e, std::int64_t chat, std::int64_t after)
      : ex(e), chat_id(chat), cursor(after), timer(e) {}
  asio::any_io_executor ex;
  std::int64_t chat_id;
  std::weak_ptr<Subscription> sub;
  // Guarded by the bus's mu_.
  std::int64_t cursor;        // last seq handed to the subscriber (or its after_seq)
  bool active = false;        // the chat channel is subscribed on the server
  // Live events wait in `held` until the replay is merged. Starts true: another local subscriber
  // of the chat may already receive live events before this one's replay ran.
  bool syncing = true;
  bool want_sync = true;      // a replay from the stream is due
  bool provisional = false;   // got node-local events while Redis was away
  bool removed = false;       // dropped by drop_chat/close_all
  std::deque<EventPtr> held;
  // Task side (on ex).
  std::atomic<bool> kicked{false};
  asio::steady_timer timer;
};

RedisBus::RedisBus(asio::any_io_executor ex, TaskRegistry& registry, SeqAllocator& seq,
                   RedisBusOptions opts)
    : seq_(seq), opts_(std::move(opts)) {
  cmd_ = RedisConnection::create(ex, registry, opts_.connection, "bus.commands");
  sub_ = RedisConnection::create(ex, registry, opts_.connection, "bus.subscriber");
  scope_ = TaskScope::create(registry, "redis.bus");
  sub_->set_message_handler(
      [this](const std::string& channel, const std::string& payload) { on_message(channel, payload); });
  sub_->set_connect_handler([this] { on_reconnected(); });
  // The two connections come back in either order; a check sent while the command connection was
  // still down failed, so it is sent again once that connection is back.
  cmd_->set_connect_handler([this] { reconcile_counters(); });
  cmd_->start();
  sub_->start();
}

RedisBus::~RedisBus() {
  close_all();
  scope_->cancel();
  if (!scope_->wait_empty(std::chrono::seconds(5))) {
    spdlog::error("redis bus: subscriber tasks still running at shutdown");
  }
  cmd_->stop();
  sub_->stop();
  (void)cmd_->wait_stopped(std::chrono::seconds(5));
  (void)sub_->wait_stopped(std::chrono::seconds(5));
}

std::string RedisBus::counter_key(std::int64_t chat) const {
  return opts_.key_prefix + "{chat:" + std::to_string(chat) + "}:seq";
}
std::string RedisBus::stream_key(std::int64_t chat) const {
  return opts_.key_prefix + "{chat:" + std::to_string(chat) + "}:events";
}
std::string RedisBus::chat_channel(std::int64_t chat) const {
  return opts_.key_prefix + "chat:" + std::to_string(chat);
}
std::string RedisBus::control_channel(const std::string& topic) const {
  return opts_.key_prefix + "ctl:" + topic;
}

RedisState RedisBus::state() const {
  auto a = cmd_->state(), b = sub_->state();
  if (a == RedisState::connected && b == RedisState::connected) return RedisState::connected;
  if (a == RedisState::stopped || b == RedisState::stopped) return RedisState::stopped;
  if (a == RedisState::connecting && b == RedisState::connecting) return RedisState::connecting;
  return RedisState::degraded;
}

std::uint64_t RedisBus::reconnects() const { return cmd_->reconnects() + sub_->reconnects(); }

RedisBus::Chat& RedisBus::chat_locked(std::int64_t chat_id) {
  auto it = chats_.find(chat_id);
  if (it != chats_.end()) return it->second;
  if (chats_.size() >= opts_.max_idle_chats) prune_locked();
  return chats_[chat_id];
}

void RedisBus::prune_locked() {
  // Forgets chats without local subscribers; their counters live in Redis and the store.
  for (auto it = chats_.begin(); it != chats_.end();) {
    if (it->second.locals.empty() && it->second.provisional_max == 0) {
      it = chats_.erase(it);
    } else {
      ++it;
    }
  }
}

Status RedisBus::prepare(std::int64_t chat_id) {
  {
    std::lock_guard lock(mu_);
    auto& c = chat_locked(chat_id);
    if (c.prepared && c.last_known < c.mark - opts_.seq_block / 2) return {};
  }
  auto mark = seq_.reserve(chat_id, opts_.seq_block);
  if (!mark.ok()) return mark.error();
  const std::int64_t floor = *mark - opts_.seq_block;
  auto counter = cmd_->call_blocking({"EVAL", kSeedScript, "1", counter_key(chat_id),
                                      std::to_string(floor)},
                                     opts_.prepare_timeout);
  std::lock_guard lock(mu_);
  auto& c = chat_locked(chat_id);
  c.mark = std::max(c.mark, *mark);
  c.prepared = true;
  if (counter.ok() && counter->type == RedisReply::Type::integer) {
    c.last_known = std::max(c.last_known, counter->integer);
  } else {
    // Redis unreachable: node-local numbering continues above the store's previous mark.
    c.last_known = std::max(c.last_known, floor);
  }
  return {};
}

Result<EventPtr> RedisBus::publish(std::int64_t chat_id, std::string_view type,
                                   std::string_view fields) {
  std::string prefix = json_prefix(type, chat_id);
  std::string suffix = json_suffix(fields);
  std::string t(type);
  if (!cmd_->connected()) {
    deliver_provisional(chat_id, t, prefix, suffix);
    std::lock_guard lock(mu_);
    auto seq = chat_locked(chat_id).provisional_max;
    return make_event(chat_id, seq, t, prefix + std::to_string(seq) + suffix);
  }
  std::int64_t floor;
  {
    std::lock_guard lock(mu_);
    floor = chat_locked(chat_id).provisional_max;
  }
  auto ev = make_event(chat_id, 0, t, prefix + "0" + suffix);
  // The arguments are copied before the handler takes prefix/suffix.
  std::vector<std::string> args{"EVAL", kPublishScript, "2", counter_key(chat_id), stream_key(chat_id),
                                chat_channel(chat_id), prefix, suffix,
                                std::to_string(opts_.stream_maxlen), t, std::to_string(floor),
                                std::to_string(wall_clock_us())};
  cmd_->send(std::move(args),
             [this, chat_id, t, prefix = std::move(prefix),
              suffix = std::move(suffix)](Result<RedisReply> r) {
               if (r.ok() && r->type == RedisReply::Type::integer && r->integer > 0) {
                 std::lock_guard lock(mu_);
                 auto& c = chat_locked(chat_id);
                 c.last_known = std::max(c.last_known, r->integer);
                 return;
               }
               if (r.ok() && r->type == RedisReply::Type::integer && r->integer == -1) {
                 spdlog::warn("redis bus: chat {} has no counter in Redis; prepare it again",
                              chat_id);
                 std::lock_guard lock(mu_);
                 chat_locked(chat_id).prepared = false;
               } else {
                 spdlog::warn("redis bus: chat {} event not published to Redis: {}", chat_id,
                              r.ok() ? "unexpected reply" : r.error().message);
               }
               deliver_provisional(chat_id, t, prefix, suffix);
             });
  return EventPtr(ev);
}

void RedisBus::deliver_provisional(std::int64_t chat_id, const std::string& type,
                                   const std::string& prefix, const std::string& suffix) {
  std::lock_guard lock(mu_);
  auto& c = chat_locked(chat_id);
  std::int64_t seq = std::max(c.last_known, c.provisional_max) + 1;
  c.provisional_max = seq;
  c.last_known = seq;
  auto ev = make_event(chat_id, seq, type, prefix + std::to_string(seq) + suffix);
  for (auto& l : c.locals) {
    l->provisional = true;
    deliver_locked(*l, ev);
  }
}

void RedisBus::deliver_locked(Local& l, const EventPtr& ev) {
  auto sub = l.sub.lock();
  if (!sub || sub->closed() || l.removed) return;
  if (l.syncing) {
    if (l.held.size() >= opts_.subscriber_queue) {
      sub->close();  // fell too far behind while replaying: resume by seq
      return;
    }
    l.held.push_back(ev);
    return;
  }
  if (ev->seq <= l.cursor) return;  // already delivered (replay/live seam)
  sub->push(ev);
  l.cursor = ev->seq;
}

void RedisBus::on_message(const std::string& channel, const std::string& payload) {
  const std::string ctl = opts_.key_prefix + "ctl:";
  if (channel.compare(0, ctl.size(), ctl) == 0) {
    on_control(channel.substr(ctl.size()), payload);
    return;
  }
  const std::string chat_prefix = opts_.key_prefix + "chat:";
  std::int64_t chat_id = 0;
  if (channel.compare(0, chat_prefix.size(), chat_prefix) != 0 ||
      !parse_i64(std::string_view(channel).substr(chat_prefix.size()), chat_id)) {
    return;
  }
  Envelope env;
  if (!parse_envelope(payload, env)) {
    spdlog::warn("redis bus: malformed message on {}", channel);
    return;
  }
  const std::int64_t seq = env.seq;
  auto ev = make_event(chat_id, seq, std::string(env.type), std::string(env.json), env.published_us);
  std::lock_guard lock(mu_);
  auto it = chats_.find(chat_id);
  if (it == chats_.end()) return;
  it->second.last_known = std::max(it->second.last_known, seq);
  for (auto& l : it->second.locals) deliver_locked(*l, ev);
}

void RedisBus::reconcile_counters() {
  std::lock_guard lock(mu_);
  for (auto& [id, c] : chats_) {
    if (c.prepared) {
      // A restarted Redis without its data lost the counter: the chat must be prepared again
      // (seeded above the store's mark) before it can publish through Redis.
      cmd_->send({"EXISTS", counter_key(id)}, [this, id = id](Result<RedisReply> r) {
        if (!r.ok() || r->integer != 0) return;
        std::lock_guard lock(mu_);
        auto it = chats_.find(id);
        if (it != chats_.end()) it->second.prepared = false;
      });
    }
    if (c.provisional_max > 0) {
      cmd_->send({"EVAL", kBumpScript, "1", counter_key(id), std::to_string(c.provisional_max)}, {});
    }
  }
}

void RedisBus::on_reconnected() {
  // The subscription connection is back and every channel is subscribed again: raise the
  // counters above the node-local seqs handed out meanwhile, then re-sync every subscriber.
  reconcile_counters();
  std::vector<std::shared_ptr<Local>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, c] : chats_) {
      for (auto& l : c.locals) {
        l->active = true;
        l->syncing = true;
        l->want_sync = true;
        all.push_back(l);
      }
    }
  }
  for (auto& l : all) kick(l);
}

void RedisBus::kick(const std::shared_ptr<Local>& l) {
  l->kicked.store(true, std::memory_order_release);
  asio::post(l->ex, [l] { l->timer.cancel(); });
}

Result<std::shared_ptr<Subscription>> RedisBus::subscribe(asio::any_io_executor ex,
                                                          std::int64_t chat_id,
                                                          std::int64_t after_seq) {
  auto sub = std::make_shared<Subscription>(ex, chat_id,
                                            opts_.subscriber_queue + opts_.replay_limit + 2);
  auto l = std::make_shared<Local>(ex, chat_id, std::max<std::int64_t>(after_seq, 0));
  l->sub = sub;
  {
    std::lock_guard lock(mu_);
    chat_locked(chat_id).locals.push_back(l);
    // Posted under mu_ so (un)subscribe requests reach the connection in the order they were made.
    sub_->subscribe(chat_channel(chat_id), [this, l] {
      {
        std::lock_guard lock(mu_);
        if (l->active) return;  // a reconnect already scheduled the re-sync
        l->active = true;
        l->syncing = true;  // from here live events wait until the replay is merged
      }
      kick(l);
    });
  }
  // Registered first, so the task's exit always finds (and removes) its entry.
  auto task = scope_->spawn(ex, TaskSpec{"redis.bus.subscriber", "chat:" + std::to_string(chat_id), {}},
                            [this, l](std::shared_ptr<Task> t) { return run_local(l, std::move(t)); });
  if (!task) {
    std::lock_guard lock(mu_);
    auto& locals = chat_locked(chat_id).locals;
    locals.erase(std::remove(locals.begin(), locals.end(), l), locals.end());
    if (locals.empty()) sub_->unsubscribe(chat_channel(chat_id));
    return make_error(Errc::unavailable, "event bus is shutting down");
  }
  return sub;
}

asio::awaitable<void> RedisBus::run_local(std::shared_ptr<Local> l, std::shared_ptr<Task> task) {
  auto cs = co_await asio::this_coro::cancellation_state;
  for (;;) {
    if (cs.cancelled() != asio::cancellation_type::none) break;
    auto sub = l->sub.lock();
    if (!sub || sub->closed()) break;
    sub.reset();
    bool due;
    {
      std::lock_guard lock(mu_);
      if (l->removed) break;
      due = l->active && l->want_sync;
      if (!l->active && l->syncing && !sub_->connected()) {
        // No replay possible now: deliver this node's events as they come.
        l->syncing = false;
        auto held = std::move(l->held);
        l->held.clear();
        for (auto& ev : held) deliver_locked(*l, ev);
      }
    }
    if (due) {
      task->set_state("replaying");
      if (co_await sync_local(l)) continue;
      // Failed (command connection down): live events flow meanwhile; retry after a sweep.
    }
    task->set_state("live");
    if (!l->kicked.exchange(false, std::memory_order_acq_rel)) {
      l->timer.expires_after(opts_.sweep_interval);
      (void)co_await l->timer.async_wait(asio::as_tuple(asio::use_awaitable));
      l->kicked.store(false, std::memory_order_release);
    }
  }
  // Deregister; the last local subscriber of a chat unsubscribes its channel.
  std::lock_guard lock(mu_);
  if (auto sub = l->sub.lock()) sub->close();
  auto it = chats_.find(l->chat_id);
  if (it == chats_.end()) co_return;
  auto& locals = it->second.locals;
  locals.erase(std::remove(locals.begin(), locals.end(), l), locals.end());
  if (locals.empty()) sub_->unsubscribe(chat_channel(l->chat_id));
}

asio::awaitable<bool> RedisBus::sync_local(const std::shared_ptr<Local>& l) {
  std::int64_t from;
  {
    std::lock_guard lock(mu_);
    l->syncing = true;
    from = l->cursor + 1;
  }
  // (Built outside the co_await expression: GCC 12 rejects string-literal initializer lists
  // inside coroutine frames.)
  std::vector<std::string> args;
  args.emplace_back("EVAL");
  args.emplace_back(kReplayScript);
  args.emplace_back("2");
  args.push_back(counter_key(l->chat_id));
  args.push_back(stream_key(l->chat_id));
  args.push_back(std::to_string(from) + "-0");
  args.push_back(std::to_string(opts_.replay_limit));
  auto r = co_await cmd_->command(std::move(args));
  std::lock_guard lock(mu_);
  auto sub = l->sub.lock();
  bool parsed = r.ok() && r->type == RedisReply::Type::array && r->elements.size() == 3;
  if (parsed && sub && !sub->closed()) {
    std::int64_t last = r->elements[0].integer;
    std::int64_t first = 0;
    const std::string& first_id = r->elements[1].str;
    bool has_first = !first_id.empty() && parse_i64(first_id.substr(0, first_id.find('-')), first);
    const auto& rows = r->elements[2].elements;
    bool truncated = rows.size() >= opts_.replay_limit;
    bool gap = l->cursor < last && (!has_first || first > l->cursor + 1);
    if (l->provisional || truncated || gap) {
      // Missed events the stream no longer holds (or saw node-local numbers): reload, then
      // continue live after the stream's last seq.
      std::int64_t at = std::max(last, l->cursor);
      sub->push(make_resync(l->chat_id, at));
      l->cursor = at;
      l->provisional = false;
    } else {
      for (const auto& row : rows) {
        if (row.elements.size() < 2) continue;
        std::int64_t seq = 0;
        const std::string& id = row.elements[0].str;
        if (!parse_i64(std::string_view(id).substr(0, id.find('-')), seq) || seq <= l->cursor) {
          continue;
        }
        std::string type, json;
        std::int64_t published_us = 0;
        const auto& fv = row.elements[1].elements;
        for (std::size_t i = 0; i + 1 < fv.size(); i += 2) {
          if (fv[i].str == "type") type = fv[i + 1].str;
          if (fv[i].str == "json") json = fv[i + 1].str;
          if (fv[i].str == "us" && !parse_i64(fv[i + 1].str, published_us)) published_us = 0;
        }
        sub->push(make_event(l->chat_id, seq, std::move(type), std::move(json), published_us));
        l->cursor = seq;
      }
    }
    l->want_sync = false;
    auto it = chats_.find(l->chat_id);
    if (it != chats_.end()) it->second.last_known = std::max(it->second.last_known, last);
  } else if (!r.ok()) {
    spdlog::debug("redis bus: replay for chat {} failed: {}", l->chat_id, r.error().message);
  }
  // Live events that arrived meanwhile, after the replayed ones.
  l->syncing = false;
  auto held = std::move(l->held);
  l->held.clear();
  for (auto& ev : held) deliver_locked(*l, ev);
  if (!parsed && sub && !sub->closed()) {
    // Retried on the next sweep (or at reconnect); meanwhile live events flow.
    l->want_sync = true;
    co_return false;
  }
  co_return true;
}

std::int64_t RedisBus::last_seq(std::int64_t chat_id) {
  std::lock_guard lock(mu_);
  auto it = chats_.find(chat_id);
  if (it == chats_.end() || !it->second.prepared) return -1;
  return it->second.last_known;
}

void RedisBus::drop_chat(std::int64_t chat_id) {
  std::vector<std::shared_ptr<Local>> locals;
  {
    std::lock_guard lock(mu_);
    auto it = chats_.find(chat_id);
    if (it == chats_.end()) return;
    for (auto& l : it->second.locals) {
      l->removed = true;
      if (auto s = l->sub.lock()) s->close();
      locals.push_back(l);
    }
    it->second.prepared = false;
  }
  cmd_->send({"DEL", stream_key(chat_id)}, {});
  for (auto& l : locals) kick(l);
}

void RedisBus::close_all() {
  std::vector<std::shared_ptr<Local>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, c] : chats_) {
      for (auto& l : c.locals) {
        l->removed = true;
        if (auto s = l->sub.lock()) s->close();
        all.push_back(l);
      }
    }
  }
  for (auto& l : all) kick(l);
}

std::size_t RedisBus::subscriber_count() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (auto& [id, c] : chats_) {
    for (auto& l : c.locals) {
      auto s = l->sub.lock();
      if (s && !s->closed() && !l->removed) ++n;
    }
  }
  return n;
}

std::uint64_t RedisBus::subscribe_control(const std::string& topic, ControlHandler handler) {
  std::lock_guard lock(mu_);
  auto id = next_control_id_++;
  auto& handlers = control_[topic];
  if (handlers.empty()) sub_->subscribe(control_channel(topic));
  handlers.emplace(id, std::move(handler));
  return id;
}

void RedisBus::unsubscribe_control(std::uint64_t id) {
  std::lock_guard lock(mu_);
  for (auto it = control_.begin(); it != control_.end(); ++it) {
    if (it->second.erase(id)) {
      if (it->second.empty()) {
        sub_->unsubscribe(control_channel(it->first));
        control_.erase(it);
      }
      return;
    }
  }
}

void RedisBus::on_control(const std::string& topic, const std::string& payload) {
  std::vector<ControlHandler> hs;
  {
    std::lock_guard lock(mu_);
    auto it = control_.find(topic);
    if (it == control_.end()) return;
    for (auto& [id, h] : it->second) hs.push_back(h);
  }
  for (auto& h : hs) h(payload);
}

void RedisBus::publish_control(const std::string& topic, std::string payload) {
  auto local = [this, topic, payload] {
    asio::post(sub_->strand(), [this, topic, payload] { on_control(topic, payload); });
  };
  if (!cmd_->connected()) {
    local();  // Redis away: at least this node's handlers hear it
    return;
  }
  cmd_->send({"PUBLISH", control_channel(topic), payload}, [local](Result<RedisReply> r) {
    if (!r.ok()) local();
  });
}

}  // namespace troupe::sync::redis
