#include "api/JsonEventFormatter.h"

#include <boost/json/serialize.hpp>

#include "api/JsonCodec.h"

namespace troupe::api {

namespace json = boost::json;

std::string JsonEventFormatter::message(const store::Message& m) const {
  return "\"message\":" + json::serialize(to_json(m));
}

std::string JsonEventFormatter::generation(const store::Generation& g) const {
  return "\"generation\":" + json::serialize(to_json(g));
}

std::string JsonEventFormatter::chat(const store::Chat& c, std::int64_t last_seq) const {
  return "\"chat\":" + json::serialize(to_json(c, last_seq));
}

std::string JsonEventFormatter::token(store::Id generation_id, store::Id message_id,
                                      std::string_view text) const {
  std::string out;
  out.reserve(64 + text.size());
  out += "\"generation_id\":";
  out += std::to_string(generation_id);
  out += ",\"message_id\":";
  out += std::to_string(message_id);
  out += ",\"text\":";
  out += json::serialize(json::string_view(text.data(), text.size()));
  return out;
}

std::string JsonEventFormatter::finished(const store::Generation& g, const store::Message& m) const {
  return generation(g) + "," + message(m);
}

std::string JsonEventFormatter::message_deleted(store::Id message_id) const {
  return "\"message_id\":" + std::to_string(message_id);
}

}  // namespace troupe::api
