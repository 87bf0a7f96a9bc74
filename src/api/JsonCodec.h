// JsonCodec: records ⇄ JSON for the public API (see docs/API.md), and request-body parsing with
// precise errors (byte position of invalid JSON, field type errors).
// Thread-safety: pure functions; any thread.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string_view>

#include "chat/ChatService.h"
#include "core/Result.h"
#include "store/Records.h"

namespace troupe::api {

struct BodyError {
  Error error;
  std::optional<std::size_t> position;  // for invalid JSON
};

// Parses a request body that must be a JSON object (max depth 64).
std::variant<boost::json::object, BodyError> parse_object(std::string_view body);

boost::json::object to_json(const store::Character& c);
boost::json::object to_json(const store::Persona& p);
boost::json::object to_json(const chat::ChatView& v);
boost::json::object to_json(const store::Chat& c, std::int64_t last_seq);
boost::json::object to_json(const store::Message& m);
boost::json::object to_json(const store::Generation& g);

// Applies the fields present in `o` to `c`; unknown fields are refused (400).
Status apply_character_fields(const boost::json::object& o, store::Character& c);
Status apply_persona_fields(const boost::json::object& o, store::Persona& p);

// Typed getters with clear errors ("field 'x' must be a string").
Result<std::string> get_string(const boost::json::object& o, std::string_view key, bool required);
Result<std::int64_t> get_int(const boost::json::object& o, std::string_view key, bool required);

}  // namespace troupe::api
