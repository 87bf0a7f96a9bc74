#include "chat/CharacterService.h"

#include <spdlog/spdlog.h>

#include "cards/Cards.h"
#include "cards/PngWriter.h"
#include "core/Offload.h"

namespace troupe::chat {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxField = 1 << 20;
constexpr std::size_t kMaxList = 1000;

std::string file_stem(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '-' || c == '_') out.push_back(static_cast<char>(c));
    else if (c == ' ') out.push_back('_');
    if (out.size() >= 64) break;
  }
  return out.empty() ? "character" : out;
}

}  // namespace

Status CharacterService::validate(const store::Character& c) {
  if (c.name.empty()) return make_error(Errc::bad_request, "name must not be empty");
  if (c.name.size() > 500) return make_error(Errc::too_large, "name is longer than 500 bytes");
  const std::pair<const char*, const std::string*> fields[] = {
      {"description", &c.description},     {"personality", &c.personality},
      {"scenario", &c.scenario},           {"first_mes", &c.first_mes},
      {"mes_example", &c.mes_example},     {"creator_notes", &c.creator_notes},
      {"system_prompt", &c.system_prompt}, {"post_history_instructions", &c.post_history_instructions},
      {"extensions", &c.extensions_json},  {"character_book", &c.character_book_json},
  };
  for (auto& [name, value] : fields) {
    if (value->size() > kMaxField) {
      return make_error(Errc::too_large, std::string(name) + " is larger than 1 MiB");
    }
  }
  if (c.alternate_greetings.size() > kMaxList || c.tags.size() > kMaxList) {
    return make_error(Errc::too_large, "more than 1000 alternate_greetings or tags");
  }
  for (auto& g : c.alternate_greetings) {
    if (g.size() > kMaxField) return make_error(Errc::too_large, "an alternate greeting is larger than 1 MiB");
  }
  for (auto& t : c.tags) {
    if (t.size() > 200) return make_error(Errc::too_large, "a tag is longer than 200 bytes");
  }
  return {};
}

asio::awaitable<Result<store::Character>> CharacterService::create(const store::User& user,
                                                                   store::Character c) {
  if (auto v = validate(c); !v.ok()) co_return v.error();
  c.user_id = user.id;
  co_return co_await offload(d_.db_pool, [&] { return d_.characters.create_character(c); });
}

asio::awaitable<Result<store::Character>> CharacterService::get(const store::User& user,
                                                                store::Id id) {
  co_return co_await offload(d_.db_pool, [&] { return d_.characters.get_character(user.id, id); });
}

asio::awaitable<Result<std::vector<store::Character>>> CharacterService::list(
    const store::User& user, store::ListQuery q) {
  co_return co_await offload(d_.db_pool, [&] { return d_.characters.list_characters(user.id, q); });
}

asio::awaitable<Result<store::Character>> CharacterService::update(const store::User& user,
                                                                   store::Character c) {
  if (auto v = validate(c); !v.ok()) co_return v.error();
  c.user_id = user.id;
  co_return co_await offload(d_.db_pool, [&] {
    auto r = d_.characters.update_character(c);
    stored_change(user.id);
    return r;
  });
}

asio::awaitable<Status> CharacterService::remove(const store::User& user, store::Id id) {
  auto s = co_await offload(d_.db_pool, [&] {
    auto r = d_.characters.delete_character(user.id, id);
    stored_change(user.id);  // its chats went with it
    return r;
  });
  if (s.ok() && d_.memory) {
    // Its chats (and their memories) went with it; drop the spaces and their indexes too.
    auto f = co_await d_.memory->forget_character(user.id, id);
    if (!f.ok()) spdlog::warn("character {}: memory spaces not removed: {}", id, f.error().message);
  }
  co_return s;
}

asio::awaitable<Result<store::Character>> CharacterService::import(const store::User& user,
                                                                   std::string bytes) {
  // Parsing is CPU work on untrusted input: keep it off the I/O thread too.
  auto max = d_.config.server.max_body_bytes;
  co_return co_await offload(d_.db_pool, [&]() -> Result<store::Character> {
    auto card = cards::import_card(bytes, max);
    if (!card.ok()) return card.error();
    card->user_id = user.id;
    auto v = validate(*card);
    if (!v.ok()) return v.error();
    return d_.characters.create_character(*card);
  });
}

asio::awaitable<Result<ExportedCard>> CharacterService::export_card(const store::User& user,
                                                                    store::Id id,
                                                                    ExportFormat format,
                                                                    ExportSpec spec) {
  co_return co_await offload(d_.db_pool, [&]() -> Result<ExportedCard> {
    auto c = d_.characters.get_character(user.id, id);
    if (!c.ok()) return c.error();
    ExportedCard out;
    auto stem = file_stem(c->name);
    if (format == ExportFormat::png) {
      out.body = cards::export_png(*c);
      out.content_type = "image/png";
      out.filename = stem + ".png";
    } else {
      out.body = cards::export_json(*c, spec == ExportSpec::v3 ? cards::Spec::v3 : cards::Spec::v2);
      out.content_type = "application/json";
      out.filename = stem + (spec == ExportSpec::v3 ? ".v3.json" : ".v2.json");
    }
    return out;
  });
}

asio::awaitable<Result<std::string>> CharacterService::avatar(const store::User& user,
                                                              store::Id id) {
  co_return co_await offload(d_.db_pool, [&]() -> Result<std::string> {
    auto c = d_.characters.get_character(user.id, id);
    if (!c.ok()) return c.error();
    if (!c->avatar_png.empty()) return c->avatar_png;
    return cards::PngWriter::placeholder(c->name);
  });
}

asio::awaitable<Result<store::Persona>> CharacterService::create_persona(const store::User& user,
                                                                         store::Persona p) {
  if (p.name.empty()) co_return make_error(Errc::bad_request, "name must not be empty");
  if (p.name.size() > 500 || p.description.size() > kMaxField) {
    co_return make_error(Errc::too_large, "persona name or description too large");
  }
  p.user_id = user.id;
  co_return co_await offload(d_.db_pool, [&] {
    auto r = d_.characters.create_persona(p);
    stored_change(user.id);  // a new default persona changes the chats that use the default
    return r;
  });
}

asio::awaitable<Result<store::Persona>> CharacterService::get_persona(const store::User& user,
                                                                      store::Id id) {
  co_return co_await offload(d_.db_pool, [&] { return d_.characters.get_persona(user.id, id); });
}

asio::awaitable<Result<std::vector<store::Persona>>> CharacterService::list_personas(
    const store::User& user) {
  co_return co_await offload(d_.db_pool, [&] { return d_.characters.list_personas(user.id); });
}

asio::awaitable<Result<store::Persona>> CharacterService::update_persona(const store::User& user,
                                                                         store::Persona p) {
  if (p.name.empty()) co_return make_error(Errc::bad_request, "name must not be empty");
  if (p.name.size() > 500 || p.description.size() > kMaxField) {
    co_return make_error(Errc::too_large, "persona name or description too large");
  }
  p.user_id = user.id;
  co_return co_await offload(d_.db_pool, [&] {
    auto r = d_.characters.update_persona(p);
    stored_change(user.id);
    return r;
  });
}

asio::awaitable<Status> CharacterService::remove_persona(const store::User& user, store::Id id) {
  co_return co_await offload(d_.db_pool, [&] {
    auto r = d_.characters.delete_persona(user.id, id);
    stored_change(user.id);
    return r;
  });
}

}  // namespace troupe::chat
