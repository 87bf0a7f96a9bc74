#include "TurnFormat.h"

#include <cstddef>
#include <memory>

#include "Common.h"
#include "HttpRequest.h"

namespace troupe_turn_floor {

void message_json(std::string& o, std::int64_t id, std::int64_t chat, std::int64_t parent,
                  std::string_view role, std::string_view content, std::string_view status,
                  Null generation, std::int64_t ms) {
  add(o, "{\"id\":", id, ",\"chat_id\":", chat, ",\"parent_id\":", parent, ",\"role\":\"", role,
      "\",\"content\":\"", content, "\",\"status\":\"", status, "\",\"generation_id\":", generation,
      ",\"swipe_index\":0,\"swipe_count\":1,\"created_at\":", ms, ",\"updated_at\":", ms, "}");
}

void generation_json(std::string& o, std::int64_t id, std::int64_t chat, std::int64_t message,
                     std::string_view status, std::int64_t started, Null finished) {
  add(o, "{\"id\":", id, ",\"chat_id\":", chat, ",\"message_id\":", message,
      ",\"kind\":\"reply\",\"status\":\"", status,
      "\",\"error\":\"\",\"backend\":\"sim\",\"started_at\":", started,
      ",\"finished_at\":", finished, "}");
}

void begin_event(std::string& o, std::string_view type, std::int64_t chat, std::int64_t seq) {
  add(o, "id: ", seq, "\nevent: ", type, "\ndata: {\"type\":\"", type, "\",\"chat_id\":", chat,
      ",\"seq\":", seq);
}

void format_turn(const Shared& s, const TurnIds& t, std::string_view content, Pending& p) {
  const std::int64_t ms = wall_ms();
  auto word = [&](int i) {
    return std::string_view(
        s.words[(static_cast<std::size_t>(t.generation) * 7 + i) % s.words.size()]);
  };
  std::string user, streaming, running, text, finished;
  message_json(user, t.user, t.chat, t.parent, "user", content, "ok", std::nullopt, ms);
  message_json(streaming, t.reply, t.chat, t.user, "assistant", "", "streaming", t.generation, ms);
  generation_json(running, t.generation, t.chat, t.reply, "running", ms, std::nullopt);
  for (int i = 0; i < s.tokens; ++i) text += word(i);
  message_json(finished, t.reply, t.chat, t.user, "assistant", text, "completed", t.generation, ms);
  p.response = http_response(
      202, "{\"reply\":" + streaming + ",\"generation\":" + running + ",\"message\":" + user + "}");
  add(p.record, "{\"turn\":{\"chat_id\":", t.chat, ",\"user\":", user, ",\"reply\":", finished,
      "}}\n");

  auto events = std::make_shared<std::string>();
  std::string& o = *events;
  o.reserve(static_cast<std::size_t>(s.tokens) * 128 + 2 * user.size() + 2 * finished.size() +
            1024);
  std::int64_t seq = t.first_seq;
  auto begin = [&](std::string_view type) {
    p.offsets.push_back(static_cast<std::uint32_t>(o.size()));
    begin_event(o, type, t.chat, seq++);
  };
  begin("message.created");
  add(o, ",\"message\":", user, "}\n\n");
  begin("message.created");
  add(o, ",\"message\":", streaming, "}\n\n");
  begin("generation.started");
  add(o, ",\"generation\":", running, "}\n\n");
  for (int i = 0; i < s.tokens; ++i) {
    begin("token");
    add(o, ",\"generation_id\":", t.generation, ",\"message_id\":", t.reply, ",\"text\":\"",
        word(i), "\"}\n\n");
  }
  begin("generation.finished");
  o += ",\"generation\":";
  generation_json(o, t.generation, t.chat, t.reply, "completed", ms, wall_ms());
  add(o, ",\"message\":", finished, "}\n\n");
  p.events = std::move(events);
  p.first_seq = t.first_seq;
  p.last_seq = seq - 1;
}

}  // namespace troupe_turn_floor
