#include "api/JsonWriter.h"

#include <charconv>

namespace troupe::api {

namespace {

// ,"key": (the key is a fixed identifier: no escaping needed)
void key(std::string& out, std::string_view k, bool first = false) {
  if (!first) out += ',';
  out += '"';
  out += k;
  out += "\":";
}

void id_or_null(std::string& out, store::Id id) {
  if (id) {
    append_json_int(out, id);
  } else {
    out += "null";
  }
}

}  // namespace

void append_json_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + s.size() + 2);
  out += '"';
  std::size_t run = 0;  // start of the bytes copied as they are
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void append_json(std::string& out, const store::Message& m) {
  out.reserve(out.size() + 200 + m.content.size());
  out += '{';
  key(out, "id", true);
  append_json_int(out, m.id);
  key(out, "chat_id");
  append_json_int(out, m.chat_id);
  key(out, "parent_id");
  id_or_null(out, m.parent_id);
  key(out, "role");
  append_json_string(out, m.role);
  key(out, "content");
  append_json_string(out, m.content);
  key(out, "status");
  append_json_string(out, m.status);
  key(out, "generation_id");
  id_or_null(out, m.generation_id);
  key(out, "swipe_index");
  append_json_int(out, m.swipe_index);
  key(out, "swipe_count");
  append_json_int(out, m.swipe_count);
  key(out, "created_at");
  append_json_int(out, m.created_at);
  key(out, "updated_at");
  append_json_int(out, m.updated_at);
  out += '}';
}

void append_json(std::string& out, const store::Generation& g) {
  out.reserve(out.size() + 200 + g.error.size());
  out += '{';
  key(out, "id", true);
  append_json_int(out, g.id);
  key(out, "chat_id");
  append_json_int(out, g.chat_id);
  key(out, "message_id");
  append_json_int(out, g.message_id);
  key(out, "kind");
  append_json_string(out, g.kind);
  key(out, "status");
  append_json_string(out, g.status);
  key(out, "error");
  append_json_string(out, g.error);
  key(out, "backend");
  append_json_string(out, g.backend);
  key(out, "started_at");
  append_json_int(out, g.started_at);
  key(out, "finished_at");
  id_or_null(out, g.finished_at);
  if (!g.retrieval_mode.empty()) {
    key(out, "retrieval_mode");
    append_json_string(out, g.retrieval_mode);
    key(out, "memory_ids");
    out += '[';
    for (std::size_t i = 0; i < g.memory_ids.size(); ++i) {
      if (i) out += ',';
      append_json_int(out, g.memory_ids[i]);
    }
    out += ']';
  }
  out += '}';
}

}  // namespace troupe::api
