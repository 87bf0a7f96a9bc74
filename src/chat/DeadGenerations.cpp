#include "chat/DeadGenerations.h"

#include <spdlog/spdlog.h>

namespace troupe::chat {

namespace {
constexpr int kPerChat = 16;  // at most one runs per chat; a few more only after store faults
}

DeadGenerations::DeadGenerations(Deps deps, const std::string& by) : d_(deps) {
  if (d_.metrics) {
    recovered_ = &d_.metrics->counter(
        "troupe_generations_recovered_total",
        "Generations left running by a node that died, marked interrupted by this node.",
        {{"by", by}});
  }
}

Result<bool> DeadGenerations::interrupt(store::Id generation_id, const std::string& why) {
  auto r = d_.chats.interrupt_generation(generation_id, why);
  if (!r.ok()) return r.error();
  if (!r->has_value()) return false;
  const store::FinishedGeneration& f = **r;
  spdlog::warn("chat {}: generation {} was left running by a stopped node; marked interrupted",
               f.generation.chat_id, f.generation.id);
  if (recovered_) recovered_->inc();
  auto prepared = d_.bus.prepare(f.generation.chat_id);
  if (prepared.ok()) {
    auto ev = d_.bus.publish(f.generation.chat_id, "generation.finished",
                             d_.fmt.finished(f.generation, f.reply));
    if (!ev.ok()) spdlog::warn("chat {}: finish event not published", f.generation.chat_id);
  }
  return true;
}

Result<int> DeadGenerations::interrupt_chat(store::Id chat_id, const std::string& why) {
  auto list = d_.chats.list_running(chat_id, kPerChat);
  if (!list.ok()) return list.error();
  int n = 0;
  for (const auto& g : *list) {
    auto r = interrupt(g.id, why);
    if (!r.ok()) return r.error();
    if (*r) ++n;
  }
  return n;
}

}  // namespace troupe::chat
