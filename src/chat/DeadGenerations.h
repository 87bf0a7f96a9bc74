// DeadGenerations: closes generations that are "running" in the store although no node runs them
// any more (their node was killed): marks each "interrupted" only if it is still running (its
// partial text stays), announces generation.finished, and counts it in
// troupe_generations_recovered_total{by=...}.
// Thread-safety: safe from any non-I/O thread (blocking store calls; run on the DB pool).
#pragma once

#include <string>

#include "chat/Deps.h"

namespace troupe::chat {

class DeadGenerations {
 public:
  // `by` labels the recovery counter ("lease": found by a node taking the chat's lease;
  // "sweeper": found by the periodic sweep).
  DeadGenerations(Deps deps, const std::string& by);

  // True when the generation was still running and is now interrupted.
  Result<bool> interrupt(store::Id generation_id, const std::string& why);
  // Every generation still running in the chat (the caller holds the chat's lease and runs
  // nothing there). Returns how many were interrupted.
  Result<int> interrupt_chat(store::Id chat_id, const std::string& why);

 private:
  Deps d_;
  Counter* recovered_ = nullptr;
};

}  // namespace troupe::chat
