// Participants: the character of a chat and the persona in effect, as a turn reads them — shared,
// read-only, by the context cache and every turn of the chat until either changes — with the
// fixed part of their prompts (PromptPrefix) made by the first turn that needs it and kept.
// Thread-safety: immutable records; prefix() may be called from any thread concurrently (one
// mutex, held only to read or swap the kept prefix, never while one is made).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "chat/PromptBuilder.h"
#include "store/Records.h"

namespace troupe::chat {

class Participants {
 public:
  Participants(store::Character character, std::optional<store::Persona> persona)
      : character(std::move(character)), persona(std::move(persona)) {}
  // Shared participants made from store records, the character's avatar left out (prompts do
  // not use it; the cache would hold it for nothing).
  static std::shared_ptr<const Participants> of(store::Character character,
                                                std::optional<store::Persona> persona);
  Participants(const Participants&) = delete;
  Participants& operator=(const Participants&) = delete;

  const store::Character character;
  const std::optional<store::Persona> persona;  // none: the user has no persona at all

  // builder.prefix(character, persona, user_name), made once and kept for the next turns (a turn
  // for another user name makes and keeps its own). Every call must pass the same builder.
  std::shared_ptr<const PromptPrefix> prefix(const PromptBuilder& builder, const std::string& user_name) const;

 private:
  mutable std::mutex mu_;
  mutable std::shared_ptr<const PromptPrefix> prefix_;  // guarded by mu_
};

}  // namespace troupe::chat
