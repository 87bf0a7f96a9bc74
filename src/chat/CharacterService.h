// CharacterService: characters (CRUD, card import/export) and personas of a user.
// Thread-safety: all members may be called concurrently from coroutines on any I/O executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "chat/Deps.h"
#include "store/CharacterStore.h"

namespace troupe::chat {

enum class ExportFormat { json, png };
enum class ExportSpec { v2, v3 };

struct ExportedCard {
  std::string body;
  std::string content_type;
  std::string filename;
};

class CharacterService {
 public:
  explicit CharacterService(Deps deps) : d_(deps) {}

  boost::asio::awaitable<Result<store::Character>> create(const store::User& user,
                                                          store::Character c);
  boost::asio::awaitable<Result<store::Character>> get(const store::User& user, store::Id id);
  boost::asio::awaitable<Result<std::vector<store::Character>>> list(const store::User& user,
                                                                     store::ListQuery q);
  boost::asio::awaitable<Result<store::Character>> update(const store::User& user,
                                                          store::Character c);
  boost::asio::awaitable<Status> remove(const store::User& user, store::Id id);
  // Parses a PNG or JSON card (V1/V2/V3) and stores it; nothing is stored on error.
  boost::asio::awaitable<Result<store::Character>> import(const store::User& user,
                                                          std::string bytes);
  boost::asio::awaitable<Result<ExportedCard>> export_card(const store::User& user, store::Id id,
                                                           ExportFormat format, ExportSpec spec);
  // The avatar PNG (imported image or a generated placeholder).
  boost::asio::awaitable<Result<std::string>> avatar(const store::User& user, store::Id id);

  boost::asio::awaitable<Result<store::Persona>> create_persona(const store::User& user,
                                                                store::Persona p);
  boost::asio::awaitable<Result<store::Persona>> get_persona(const store::User& user, store::Id id);
  boost::asio::awaitable<Result<std::vector<store::Persona>>> list_personas(const store::User& user);
  boost::asio::awaitable<Result<store::Persona>> update_persona(const store::User& user,
                                                                store::Persona p);
  boost::asio::awaitable<Status> remove_persona(const store::User& user, store::Id id);

  // Field-size validation shared by create/update (413 / 400 with the field name).
  static Status validate(const store::Character& c);

 private:
  // After a store write to the user's characters or personas (any thread).
  void stored_change(store::Id user_id) const {
    if (d_.contexts) d_.contexts->invalidate_user(user_id);
  }
  Deps d_;
};

}  // namespace troupe::chat
