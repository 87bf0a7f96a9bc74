#include "api/JsonEventFormatter.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "api/JsonCodec.h"
#include "api/JsonWriter.h"

namespace troupe::api {

namespace json = boost::json;

std::string JsonEventFormatter::message(const store::Message& m) const {
  std::string out = "\"message\":";
  append_json(out, m);
  return out;
}

std::string JsonEventFormatter::generation(const store::Generation& g) const {
  std::string out = "\"generation\":";
  append_json(out, g);
  return out;
}

std::string JsonEventFormatter::chat(const store::Chat& c, std::int64_t last_seq) const {
  return "\"chat\":" + json::serialize(to_json(c, last_seq));
}

std::string JsonEventFormatter::token(store::Id generation_id, store::Id message_id,
                                      std::string_view text) const {
  std::string out;
  out.reserve(64 + text.size());
  append_token(out, generation_id, message_id, text);
  return out;
}

void JsonEventFormatter::append_token(std::string& out, store::Id generation_id, store::Id message_id,
                                      std::string_view text) const {
  // Called once per token: the fixed part is made on the stack and appended once.
  constexpr std::string_view kGen = "\"generation_id\":";
  constexpr std::string_view kMsg = ",\"message_id\":";
  constexpr std::string_view kText = ",\"text\":";
  char head[kGen.size() + 20 + kMsg.size() + 20 + kText.size()];
  char* p = std::copy(kGen.begin(), kGen.end(), head);
  p = std::to_chars(p, p + 20, generation_id).ptr;
  p = std::copy(kMsg.begin(), kMsg.end(), p);
  p = std::to_chars(p, p + 20, message_id).ptr;
  p = std::copy(kText.begin(), kText.end(), p);
  out.append(head, p);
  append_json_string(out, text);
}

std::string JsonEventFormatter::finished(const store::Generation& g, const store::Message& m) const {
  std::string out = "\"generation\":";
  append_json(out, g);
  out += ",\"message\":";
  append_json(out, m);
  return out;
}

std::string JsonEventFormatter::message_deleted(store::Id message_id) const {
  return "\"message_id\":" + std::to_string(message_id);
}

}  // namespace troupe::api
