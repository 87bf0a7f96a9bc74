#include "sync/InProcessBus.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "sync/EventPool.h"

namespace troupe::sync {

namespace {

// build_event_json's bytes around the type and the members, at most (two 20-digit numbers).
constexpr std::size_t kEventJsonOverhead = 72;

// Copies `s` to `p` and returns the end.
char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

void build_event_json(std::string& out, std::string_view type, std::int64_t chat_id, std::int64_t seq,
                      std::string_view fields) {
  // The numbers' part is made on the stack and appended once: a token's event is built per
  // token, and a chain of small appends cost more than the bytes.
  constexpr std::string_view kOpen = "{\"type\":\"";
  constexpr std::string_view kChat = "\",\"chat_id\":";
  constexpr std::string_view kSeq = ",\"seq\":";
  char nums[kChat.size() + 20 + kSeq.size() + 20 + 1];
  char* p = put(nums, kChat);
  p = std::to_chars(p, p + 20, chat_id).ptr;
  p = put(p, kSeq);
  p = std::to_chars(p, p + 20, seq).ptr;
  if (!fields.empty()) *p++ = ',';
  out.reserve(out.size() + kOpen.size() + type.size() + static_cast<std::size_t>(p - nums) +
              fields.size() + 1);
  out += kOpen;
  out += type;  // event types are fixed identifiers, never user text
  out.append(nums, p);
  out += fields;
  out += '}';
}

std::string build_event_json(std::string_view type, std::int64_t chat_id, std::int64_t seq,
                             std::string_view fields) {
  std::string out;
  build_event_json(out, type, chat_id, seq, fields);
  return out;
}


// The stream a thread last published to (see publisher_stream).
struct LastStream {
  std::uint64_t bus = 0;
  std::int64_t chat = 0;
  std::weak_ptr<void> stream;
  std::uint32_t uses = 0;
};
thread_local LastStream t_last_stream;
std::atomic<std::uint64_t> g_next_bus_id{1};

}  // namespace

InProcessBus::InProcessBus(SeqAllocator& seq, InProcessBusOptions opts)
    : seq_(seq), opts_(opts), id_(g_next_bus_id.fetch_add(1, std::memory_order_relaxed)) {}

std::shared_ptr<InProcessBus::Stream> InProcessBus::publisher_stream(std::int64_t chat_id) {
  LastStream& last = t_last_stream;
  if (last.bus == id_ && last.chat == chat_id && ++last.uses % kTouchEvery != 0) {
    if (auto p = last.stream.lock()) return std::static_pointer_cast<Stream>(p);
  }
  auto s = stream(chat_id);
  last.bus = id_;
  last.chat = chat_id;
  last.stream = s;
  last.uses = 0;
  return s;
}

InProcessBus::~InProcessBus() { close_all(); }

std::shared_ptr<InProcessBus::Stream> InProcessBus::stream(std::int64_t chat_id) {
  // Forgotten streams are destroyed after mu_ is released: freeing a replay ring (up to
  // replay_events events) must not stall every publisher.
  std::vector<std::shared_ptr<Stream>> dropped;
  std::shared_ptr<Stream> s;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(chat_id);
    if (it != streams_.end()) {
      s = it->second;
      lru_.splice(lru_.begin(), lru_, s->lru);
    } else {
      s = std::make_shared<Stream>(opts_.replay_events);
      lru_.push_front(chat_id);
      s->lru = lru_.begin();
      streams_.emplace(chat_id, s);
    }
    if (streams_.size() > opts_.max_idle_streams ||
        retained_.load(std::memory_order_relaxed) > opts_.max_retained_events) {
      // Everything in use (live subscribers beyond the bounds): look again only now and then.
      if (prune_backoff_ > 0) {
        --prune_backoff_;
      } else {
        prune_idle(s.get(), dropped);
        if (dropped.empty()) prune_backoff_ = 256;
      }
    }
  }
  return s;
}

void InProcessBus::prune_idle(const Stream* keep, std::vector<std::shared_ptr<Stream>>& dropped) {
  // From the least recently used end. A stream with a live subscriber is in use: it moves to the
  // front and the scan goes on. At most kLook streams are examined and kDrop forgotten per call, so
  // one call stays short; the bounds are met again over the next few publishes.
  constexpr int kLook = 16;
  constexpr std::size_t kDrop = 4;
  auto over = [&] {
    return streams_.size() > opts_.max_idle_streams ||
           retained_.load(std::memory_order_relaxed) > opts_.max_retained_events;
  };
  for (int looked = 0; looked < kLook && dropped.size() < kDrop && !lru_.empty() && over(); ++looked) {
    auto found = streams_.find(lru_.back());
    Stream& s = *found->second;
    // A stream whose lock is held is in use (a publish, a subscribe, or a first reservation
    // writing to the store): never wait for it here, with the bus mutex held.
    std::unique_lock slock(s.mu, std::defer_lock);
    if (&s != keep && slock.try_lock()) {
      bool live = std::any_of(s.subs.begin(), s.subs.end(), [](const auto& w) {
        auto sub = w.lock();
        return sub && !sub->closed();
      });
      if (!live) {
        dropped.push_back(found->second);
        forget_locked(s);
        streams_.erase(found);
        continue;
      }
    }
    lru_.splice(lru_.begin(), lru_, s.lru);
  }
}

void InProcessBus::forget_locked(Stream& s) {
  s.forgotten = true;
  retained_.fetch_sub(s.ring.events(), std::memory_order_relaxed);
  lru_.erase(s.lru);
}

std::unique_lock<std::mutex> InProcessBus::lock_current(std::int64_t chat_id, std::shared_ptr<Stream>& s) {
  std::unique_lock lock(s->mu);
  while (s->forgotten) {
    lock.unlock();
    s = stream(chat_id);
    lock = std::unique_lock(s->mu);
  }
  return lock;
}

Status InProcessBus::ensure_range(Stream& s, std::int64_t chat_id) {
  if (s.prepared && s.last < s.high) return {};
  auto high = seq_.reserve(chat_id, opts_.seq_block);
  if (!high.ok()) return high.error();
  if (!s.prepared) {
    s.start_seq = *high - opts_.seq_block;
    s.last = s.start_seq;
    s.prepared = true;
  }
  // Blocks are disjoint and increasing; if another holder reserved in between, the numbers
  // continue from this block's start, never from inside someone else's.
  s.last = std::max(s.last, *high - opts_.seq_block);
  s.high = *high;
  return {};
}

void InProcessBus::adopt_new_chat(std::int64_t chat_id, std::int64_t seq_reserved) {
  if (seq_reserved <= 0) return;
  auto s = stream(chat_id);
  auto lock = lock_current(chat_id, s);
  if (s->prepared) return;
  // The chat was stored with (0, seq_reserved] reserved for it and has published nothing yet.
  s->start_seq = 0;
  s->last = 0;
  s->high = seq_reserved;
  s->prepared = true;
}

Status InProcessBus::prepare(std::int64_t chat_id) {
  auto s = stream(chat_id);
  std::lock_guard lock(s->mu);
  return ensure_range(*s, chat_id);
}

bool InProcessBus::ready(std::int64_t chat_id, std::int64_t headroom) {
  std::shared_ptr<Stream> s;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(chat_id);
    if (it == streams_.end()) return false;
    s = it->second;
  }
  std::lock_guard lock(s->mu);
  return s->prepared && !s->forgotten && s->high - s->last >= headroom;
}

std::shared_ptr<Event> InProcessBus::make_locked(Stream& s, std::int64_t chat_id, std::string_view type,
                                                 std::string_view fields, std::int64_t now_us) {
  auto ev = EventPool::instance().make();  // pooled block and JSON buffer
  ev->chat_id = chat_id;
  ev->seq = ++s.last;
  ev->type = type;
  ev->published_us = now_us;
  build_event_json(ev->json, type, chat_id, ev->seq, fields);
  return ev;
}

void InProcessBus::retain_locked(Stream& s, EventPtr ev) {
  const std::ptrdiff_t delta = s.ring.push(std::move(ev));
  if (s.forgotten || delta == 0) return;
  if (delta > 0) {
    retained_.fetch_add(static_cast<std::size_t>(delta), std::memory_order_relaxed);
  } else {
    retained_.fetch_sub(static_cast<std::size_t>(-delta), std::memory_order_relaxed);
  }
}

namespace {

// Drops closed or gone subscribers and hands `deliver` each live one (the stream lock is held,
// so deliveries happen in seq order; channel completions are posted, never inline).
template <class F>
void for_live(std::vector<std::weak_ptr<Subscription>>& subs, F&& deliver) {
  subs.erase(std::remove_if(subs.begin(), subs.end(),
                            [&](const std::weak_ptr<Subscription>& w) {
                              auto sub = w.lock();
                              if (!sub || sub->closed()) return true;
                              deliver(*sub);
                              return false;
                            }),
             subs.end());
}

}  // namespace

Result<EventPtr> InProcessBus::publish(std::int64_t chat_id, std::string_view type,
                                       std::string_view fields) {
  auto s = publisher_stream(chat_id);
  const Stream* cached = s.get();
  auto lock = lock_current(chat_id, s);
  if (s.get() != cached) t_last_stream = LastStream{id_, chat_id, s, 0};  // pruned since last use
  TROUPE_TRY_STATUS(ensure_range(*s, chat_id));
  EventPtr ev = make_locked(*s, chat_id, type, fields, wall_clock_us());
  retain_locked(*s, ev);
  for_live(s->subs, [&](Subscription& sub) { sub.push(ev); });
  return ev;
}

Status InProcessBus::publish_batch(std::int64_t chat_id, const EventBatch& batch) {
  TROUPE_TRY_STATUS(check_batch(batch));
  if (batch.empty()) return {};
  // The batch's items, held until every subscriber has them (reused: no allocation when warm).
  thread_local std::vector<EventPtr> made;
  made.clear();
  auto s = publisher_stream(chat_id);
  const Stream* cached = s.get();
  auto lock = lock_current(chat_id, s);
  if (s.get() != cached) t_last_stream = LastStream{id_, chat_id, s, 0};
  const std::int64_t now = wall_clock_us();
  // Consecutive events of one type become one run (one item: see Event) while it stays within
  // kRunEvents and kRunBytes and its numbers stay consecutive.
  std::shared_ptr<Event> run;
  auto close_run = [&] {
    if (!run) return;
    retain_locked(*s, run);
    made.push_back(std::move(run));
    run.reset();
  };
  Status st;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const std::int64_t before = s->last;
    st = ensure_range(*s, chat_id);
    if (!st.ok()) break;  // what was appended still goes out
    const std::string_view type = batch.type(i);
    const std::string_view fields = batch.fields(i);
    if (run && (s->last != before || run->type != type || run->count >= kRunEvents ||
                run->json.size() + 1 + kEventJsonOverhead + type.size() + fields.size() > kRunBytes)) {
      close_run();
    }
    if (!run) {
      run = make_locked(*s, chat_id, type, fields, now);
      continue;
    }
    run->json += '\n';
    build_event_json(run->json, type, chat_id, ++s->last, fields);
    ++run->count;
  }
  close_run();
  if (!made.empty()) for_live(s->subs, [&](Subscription& sub) { sub.push_batch(made); });
  lock.unlock();
  made.clear();  // the subscribers and the ring hold them now
  return st;
}

Result<std::shared_ptr<Subscription>> InProcessBus::subscribe(boost::asio::any_io_executor ex,
                                                              std::int64_t chat_id,
                                                              std::int64_t after_seq) {
  auto s = stream(chat_id);
  auto lock = lock_current(chat_id, s);
  TROUPE_TRY_STATUS(ensure_range(*s, chat_id));
  auto sub = std::make_shared<Subscription>(std::move(ex), chat_id,
                                            opts_.subscriber_queue + opts_.replay_events + 1);
  std::int64_t oldest = s->ring.empty() ? s->last + 1 : s->ring.oldest()->seq;
  if (after_seq < s->last && after_seq + 1 < oldest) {
    // The client missed events we no longer hold: tell it to reload, then continue from `last`.
    auto ev = std::make_shared<Event>();
    ev->chat_id = chat_id;
    ev->seq = s->last;
    ev->type = "resync";
    ev->json = build_event_json("resync", chat_id, s->last, "");
    sub->push(std::move(ev));
  } else {
    s->ring.for_each([&](const EventPtr& ev) {
      if (ev->last_seq() <= after_seq) return;
      if (ev->seq > after_seq) {
        sub->push(ev);
        return;
      }
      // A run the client saw part of: the rest goes out as a run of its own.
      auto rest = EventPool::instance().make();
      rest->chat_id = ev->chat_id;
      rest->type = ev->type;
      rest->published_us = ev->published_us;
      rest->seq = after_seq + 1;
      rest->count = 0;
      ev->parts([&](std::int64_t seq, std::string_view json) {
        if (seq <= after_seq) return;
        if (rest->count++ > 0) rest->json += '\n';
        rest->json += json;
      });
      sub->push(std::move(rest));
    });
  }
  s->subs.push_back(sub);
  return sub;
}

std::optional<boost::asio::any_io_executor> InProcessBus::subscriber_executor(std::int64_t chat_id) {
  std::shared_ptr<Stream> s;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(chat_id);
    if (it == streams_.end()) return std::nullopt;
    s = it->second;
  }
  // Never waits: a stream busy with a first reservation (a store write) answers "none", and the
  // caller runs the work where it is.
  std::unique_lock lock(s->mu, std::try_to_lock);
  if (!lock.owns_lock()) return std::nullopt;
  for (const auto& w : s->subs) {
    auto sub = w.lock();
    if (sub && !sub->closed()) return sub->executor();
  }
  return std::nullopt;
}

std::int64_t InProcessBus::last_seq(std::int64_t chat_id) {
  std::shared_ptr<Stream> s;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(chat_id);
    if (it == streams_.end()) return -1;
    s = it->second;
  }
  std::lock_guard lock(s->mu);
  return s->prepared ? s->last : -1;
}

void InProcessBus::drop_chat(std::int64_t chat_id) {
  std::shared_ptr<Stream> s;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(chat_id);
    if (it == streams_.end()) return;
    s = it->second;
    std::lock_guard slock(s->mu);
    forget_locked(*s);
    streams_.erase(it);
  }
  std::lock_guard lock(s->mu);
  for (auto& w : s->subs) {
    if (auto sub = w.lock()) sub->close();
  }
  s->subs.clear();
}

void InProcessBus::close_all() {
  std::unordered_map<std::int64_t, std::shared_ptr<Stream>> all;
  {
    std::lock_guard lock(mu_);
    all = streams_;
  }
  for (auto& [id, s] : all) {
    std::lock_guard lock(s->mu);
    for (auto& w : s->subs) {
      if (auto sub = w.lock()) sub->close();
    }
  }
}

std::size_t InProcessBus::stream_count() const {
  std::lock_guard lock(mu_);
  return streams_.size();
}

std::size_t InProcessBus::subscriber_count() const {
  std::vector<std::shared_ptr<Stream>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : streams_) all.push_back(s);
  }
  std::size_t n = 0;
  for (auto& s : all) {
    std::lock_guard lock(s->mu);
    for (auto& w : s->subs) {
      auto sub = w.lock();
      if (sub && !sub->closed()) ++n;
    }
  }
  return n;
}

std::uint64_t InProcessBus::subscribe_control(const std::string& topic, ControlHandler handler) {
  std::lock_guard lock(control_mu_);
  auto id = next_control_id_++;
  control_[topic].emplace(id, std::move(handler));
  return id;
}

void InProcessBus::unsubscribe_control(std::uint64_t id) {
  std::lock_guard lock(control_mu_);
  for (auto it = control_.begin(); it != control_.end(); ++it) {
    if (it->second.erase(id)) {
      if (it->second.empty()) control_.erase(it);
      return;
    }
  }
}

void InProcessBus::publish_control(const std::string& topic, std::string payload) {
  std::vector<ControlHandler> hs;
  {
    std::lock_guard lock(control_mu_);
    auto it = control_.find(topic);
    if (it == control_.end()) return;
    for (auto& [id, h] : it->second) hs.push_back(h);
  }
  for (auto& h : hs) h(payload);  // outside the lock: a handler may (un)subscribe
}

}  // namespace troupe::sync
