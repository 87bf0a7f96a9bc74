#include "chat/Participants.h"

namespace troupe::chat {

std::shared_ptr<const Participants> Participants::of(store::Character character,
                                                     std::optional<store::Persona> persona) {
  character.avatar_png.clear();
  character.avatar_png.shrink_to_fit();
  return std::make_shared<const Participants>(std::move(character), std::move(persona));
}

std::shared_ptr<const PromptPrefix> Participants::prefix(const PromptBuilder& builder,
                                                         const std::string& user_name) const {
  {
    std::lock_guard lock(mu_);
    if (prefix_ && prefix_->user_name == user_name) return prefix_;
  }
  // Made outside the lock: two turns racing here both make it, and the last one is kept.
  auto made = std::make_shared<const PromptPrefix>(
      builder.prefix(character, persona ? &*persona : nullptr, user_name));
  std::lock_guard lock(mu_);
  prefix_ = made;
  return made;
}

}  // namespace troupe::chat
