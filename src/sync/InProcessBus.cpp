#include "sync/InProcessBus.h"

#include <algorithm>
#include <charconv>

#include "sync/EventPool.h"

namespace troupe::sync {

namespace {

void build_event_json(std::string& out, std::string_view type, std::int64_t chat_id, std::int64_t seq,
                      std::string_view fields) {
  out.reserve(48 + type.size() + fields.size());
  out += "{\"type\":\"";
  out += type;  // event types are fixed identifiers, never user text
  out += "\",\"chat_id\":";
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, chat_id);
  out.append(buf, r.ptr);
  out += ",\"seq\":";
  r = std::to_chars(buf, buf + sizeof buf, seq);
  out.append(buf, r.ptr);
  if (!fields.empty()) {
    out += ',';
    out += fields;
  }
  out += '}';
}

std::string build_event_json(std::string_view type, std::int64_t chat_id, std::int64_t seq,
                             std::string_view fields) {
  std::string out;
  build_event_json(out, type, chat_id, seq, fields);
  return out;
}

}  // namespace

InProcessBus::InProcessBus(SeqAllocator& seq, InProcessBusOptions opts)
    : seq_(seq), opts_(opts) {}

InProcessBus::~InProcessBus() { close_all(); }

std::shared_ptr<InProcessBus::Stream> InProcessBus::stream(std::int64_t chat_id) {
  // Pruned streams are destroyed after mu_ is released: freeing their replay rings (hundreds of
  // streams, each holding up to replay_events events) must not stall every publisher.
  std::vector<std::shared_ptr<Stream>> dropped;
  std::shared_ptr<Stream> s;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(chat_id);
    if (it != streams_.end()) {
      it->second->touched.store(++clock_, std::memory_order_relaxed);
      return it->second;
    }
    if (streams_.size() >= opts_.max_idle_streams) prune_idle(dropped);
    s = std::make_shared<Stream>(opts_.replay_events);
    s->touched.store(++clock_, std::memory_order_relaxed);
    streams_.emplace(chat_id, s);
  }
  return s;
}

void InProcessBus::prune_idle(std::vector<std::shared_ptr<Stream>>& dropped) {
  // mu_ is held. Moves the least recently used quarter of the streams that have no live
  // subscriber out of the map (into `dropped`, destroyed by the caller without the lock).
  std::vector<std::pair<std::uint64_t, std::int64_t>> idle;
  for (auto& [id, s] : streams_) {
    std::lock_guard slock(s->mu);
    bool live = std::any_of(s->subs.begin(), s->subs.end(), [](const auto& w) {
      auto sub = w.lock();
      return sub && !sub->closed();
    });
    if (!live) idle.emplace_back(s->touched.load(std::memory_order_relaxed), id);
  }
  const std::size_t drop = std::min(idle.size(), std::max<std::size_t>(1, idle.size() / 4));
  std::nth_element(idle.begin(), idle.begin() + static_cast<std::ptrdiff_t>(drop), idle.end());
  dropped.reserve(drop);
  for (std::size_t i = 0; i < drop; ++i) {
    auto it = streams_.find(idle[i].second);
    dropped.push_back(std::move(it->second));
    streams_.erase(it);
  }
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
  s.high = *high;
  return {};
}

Status InProcessBus::prepare(std::int64_t chat_id) {
  auto s = stream(chat_id);
  std::lock_guard lock(s->mu);
  return ensure_range(*s, chat_id);
}

Result<EventPtr> InProcessBus::publish(std::int64_t chat_id, std::string_view type,
                                       std::string_view fields) {
  auto s = stream(chat_id);
  std::lock_guard lock(s->mu);
  TROUPE_TRY_STATUS(ensure_range(*s, chat_id));
  auto ev = EventPool::instance().make();  // pooled block and JSON buffer
  ev->chat_id = chat_id;
  ev->seq = ++s->last;
  ev->type = type;
  ev->published_us = wall_clock_us();
  build_event_json(ev->json, type, chat_id, ev->seq, fields);
  s->ring.push(ev);
  // Deliver in seq order (the stream lock is held; channel completions are posted, never inline).
  auto& subs = s->subs;
  subs.erase(std::remove_if(subs.begin(), subs.end(),
                            [&](const std::weak_ptr<Subscription>& w) {
                              auto sub = w.lock();
                              if (!sub || sub->closed()) return true;
                              sub->push(ev);
                              return false;
                            }),
             subs.end());
  return EventPtr(ev);
}

Result<std::shared_ptr<Subscription>> InProcessBus::subscribe(boost::asio::any_io_executor ex,
                                                              std::int64_t chat_id,
                                                              std::int64_t after_seq) {
  auto s = stream(chat_id);
  std::lock_guard lock(s->mu);
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
      if (ev->seq > after_seq) sub->push(ev);
    });
  }
  s->subs.push_back(sub);
  return sub;
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
