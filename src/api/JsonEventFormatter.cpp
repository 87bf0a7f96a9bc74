#include "api/JsonEventFormatter.h"

#include <charconv>

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

namespace {

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// A JSON string literal: quotes, backslashes and control characters escaped; other bytes (UTF-8)
// as they are, like Boost.JSON's serializer.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace

std::string JsonEventFormatter::token(store::Id generation_id, store::Id message_id,
                                      std::string_view text) const {
  std::string out;
  out.reserve(64 + text.size());
  token_into(out, generation_id, message_id, text);
  return out;
}

void JsonEventFormatter::token_into(std::string& out, store::Id generation_id, store::Id message_id,
                                    std::string_view text) const {
  out.clear();
  out += "\"generation_id\":";
  append_int(out, generation_id);
  out += ",\"message_id\":";
  append_int(out, message_id);
  out += ",\"text\":";
  append_json_string(out, text);
}

std::string JsonEventFormatter::finished(const store::Generation& g, const store::Message& m) const {
  return generation(g) + "," + message(m);
}

std::string JsonEventFormatter::message_deleted(store::Id message_id) const {
  return "\"message_id\":" + std::to_string(message_id);
}

}  // namespace troupe::api
