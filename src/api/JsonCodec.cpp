#include "api/JsonCodec.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

namespace troupe::api {

namespace json = boost::json;

std::variant<json::object, BodyError> parse_object(std::string_view body) {
  if (body.empty()) return BodyError{make_error(Errc::bad_request, "request body must be a JSON object"), std::nullopt};
  json::parse_options opt;
  opt.max_depth = 64;
  json::stream_parser p({}, opt);
  boost::system::error_code ec;
  std::size_t n = p.write_some(body.data(), body.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    return BodyError{make_error(Errc::bad_request, "invalid JSON at byte " + std::to_string(n) +
                                                       ": " + ec.message()),
                     n};
  }
  json::value v = p.release();
  if (!v.is_object()) {
    return BodyError{make_error(Errc::bad_request, "request body must be a JSON object"), std::nullopt};
  }
  return std::move(v.as_object());
}

namespace {

json::value raw_or(const std::string& raw, json::value fallback) {
  if (raw.empty()) return fallback;
  boost::system::error_code ec;
  auto v = json::parse(raw, ec);
  return ec ? fallback : v;
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  a.reserve(v.size());
  for (auto& s : v) a.emplace_back(s);
  return a;
}

Result<std::vector<std::string>> get_strings(const json::value& v, std::string_view key) {
  if (!v.is_array()) return make_error(Errc::bad_request, "field '" + std::string(key) + "' must be an array of strings");
  std::vector<std::string> out;
  for (auto& e : v.as_array()) {
    if (!e.is_string()) return make_error(Errc::bad_request, "field '" + std::string(key) + "' must be an array of strings");
    out.emplace_back(e.as_string());
  }
  return out;
}

}  // namespace

Result<std::string> get_string(const json::object& o, std::string_view key, bool required) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    if (required) return make_error(Errc::bad_request, "field '" + std::string(key) + "' is required");
    return std::string();
  }
  if (!it->value().is_string()) return make_error(Errc::bad_request, "field '" + std::string(key) + "' must be a string");
  return std::string(it->value().as_string());
}

Result<std::int64_t> get_int(const json::object& o, std::string_view key, bool required) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) {
    if (required) return make_error(Errc::bad_request, "field '" + std::string(key) + "' is required");
    return std::int64_t{0};
  }
  if (it->value().is_int64()) return it->value().as_int64();
  if (it->value().is_uint64() && it->value().as_uint64() < (1ull << 62)) {
    return static_cast<std::int64_t>(it->value().as_uint64());
  }
  return make_error(Errc::bad_request, "field '" + std::string(key) + "' must be an integer");
}

json::object to_json(const store::Character& c) {
  return json::object{
      {"id", c.id},
      {"name", c.name},
      {"description", c.description},
      {"personality", c.personality},
      {"scenario", c.scenario},
      {"first_mes", c.first_mes},
      {"mes_example", c.mes_example},
      {"creator_notes", c.creator_notes},
      {"system_prompt", c.system_prompt},
      {"post_history_instructions", c.post_history_instructions},
      {"alternate_greetings", strings(c.alternate_greetings)},
      {"tags", strings(c.tags)},
      {"creator", c.creator},
      {"character_version", c.character_version},
      {"extensions", raw_or(c.extensions_json, json::object{})},
      {"character_book", raw_or(c.character_book_json, nullptr)},
      {"source_spec", c.source_spec},
      {"has_avatar", !c.avatar_png.empty()},
      {"created_at", c.created_at},
      {"updated_at", c.updated_at},
  };
}

json::object to_json(const store::Persona& p) {
  return json::object{{"id", p.id},
                      {"name", p.name},
                      {"description", p.description},
                      {"is_default", p.is_default},
                      {"created_at", p.created_at},
                      {"updated_at", p.updated_at}};
}

json::object to_json(const store::Chat& c, std::int64_t last_seq) {
  return json::object{{"id", c.id},
                      {"character_id", c.character_id},
                      {"persona_id", c.persona_id},
                      {"title", c.title},
                      {"leaf_id", c.leaf_id},
                      {"last_seq", last_seq},
                      {"created_at", c.created_at},
                      {"updated_at", c.updated_at}};
}

json::object to_json(const chat::ChatView& v) {
  auto o = to_json(v.chat, v.last_seq);
  o["generation"] = v.running ? json::value(to_json(*v.running)) : json::value(nullptr);
  return o;
}

json::object to_json(const store::Message& m) {
  return json::object{{"id", m.id},
                      {"chat_id", m.chat_id},
                      {"parent_id", m.parent_id ? json::value(m.parent_id) : json::value(nullptr)},
                      {"role", m.role},
                      {"content", m.content},
                      {"status", m.status},
                      {"generation_id", m.generation_id ? json::value(m.generation_id) : json::value(nullptr)},
                      {"swipe_index", m.swipe_index},
                      {"swipe_count", m.swipe_count},
                      {"created_at", m.created_at},
                      {"updated_at", m.updated_at}};
}

json::object to_json(const store::Generation& g) {
  json::object o{{"id", g.id},
                      {"chat_id", g.chat_id},
                      {"message_id", g.message_id},
                      {"kind", g.kind},
                      {"status", g.status},
                      {"error", g.error},
                      {"backend", g.backend},
                      {"started_at", g.started_at},
                      {"finished_at", g.finished_at ? json::value(g.finished_at) : json::value(nullptr)}};
  if (!g.retrieval_mode.empty()) {
    o["retrieval_mode"] = g.retrieval_mode;
    json::array ids;
    for (auto id : g.memory_ids) ids.push_back(id);
    o["memory_ids"] = std::move(ids);
  }
  return o;
}

Status apply_character_fields(const json::object& o, store::Character& c) {
  for (auto& kv : o) {
    std::string_view k = kv.key();
    const json::value& v = kv.value();
    std::string* field = nullptr;
    if (k == "name") field = &c.name;
    else if (k == "description") field = &c.description;
    else if (k == "personality") field = &c.personality;
    else if (k == "scenario") field = &c.scenario;
    else if (k == "first_mes") field = &c.first_mes;
    else if (k == "mes_example") field = &c.mes_example;
    else if (k == "creator_notes") field = &c.creator_notes;
    else if (k == "system_prompt") field = &c.system_prompt;
    else if (k == "post_history_instructions") field = &c.post_history_instructions;
    else if (k == "creator") field = &c.creator;
    else if (k == "character_version") field = &c.character_version;
    if (field) {
      if (!v.is_string()) return make_error(Errc::bad_request, "field '" + std::string(k) + "' must be a string");
      *field = std::string(v.as_string());
    } else if (k == "alternate_greetings" || k == "tags") {
      auto list = get_strings(v, k);
      if (!list.ok()) return list.error();
      (k == "tags" ? c.tags : c.alternate_greetings) = std::move(list).value();
    } else if (k == "extensions") {
      if (!v.is_object()) return make_error(Errc::bad_request, "field 'extensions' must be an object");
      c.extensions_json = json::serialize(v);
    } else if (k == "character_book") {
      if (v.is_null()) c.character_book_json.clear();
      else if (!v.is_object()) return make_error(Errc::bad_request, "field 'character_book' must be an object or null");
      else c.character_book_json = json::serialize(v);
    } else if (k == "id" || k == "created_at" || k == "updated_at" || k == "source_spec" ||
               k == "has_avatar") {
      continue;  // read-only fields echoed back by clients are ignored
    } else {
      return make_error(Errc::bad_request, "unknown field '" + std::string(k) + "'");
    }
  }
  return {};
}

Status apply_persona_fields(const json::object& o, store::Persona& p) {
  for (auto& kv : o) {
    std::string_view k = kv.key();
    const json::value& v = kv.value();
    if (k == "name" || k == "description") {
      if (!v.is_string()) return make_error(Errc::bad_request, "field '" + std::string(k) + "' must be a string");
      (k == "name" ? p.name : p.description) = std::string(v.as_string());
    } else if (k == "is_default") {
      if (!v.is_bool()) return make_error(Errc::bad_request, "field 'is_default' must be a boolean");
      p.is_default = v.as_bool();
    } else if (k == "id" || k == "created_at" || k == "updated_at") {
      continue;
    } else {
      return make_error(Errc::bad_request, "unknown field '" + std::string(k) + "'");
    }
  }
  return {};
}

}  // namespace troupe::api
