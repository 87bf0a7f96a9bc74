#include "llm/OpenAiChunkDecoder.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace troupe::llm {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxMessage = 300;

std::string excerpt(std::string_view s) {
  if (s.size() <= kMaxMessage) return std::string(s);
  return std::string(s.substr(0, kMaxMessage)) + "...";
}

// `{"error": {"message": "..."}}`, `{"error": "..."}` or anything else under "error".
std::string error_message(const json::value& err) {
  if (const auto* s = err.if_string()) return excerpt(*s);
  if (const auto* o = err.if_object()) {
    if (const auto* m = o->if_contains("message"); m && m->is_string()) {
      return excerpt(m->get_string());
    }
  }
  return excerpt(json::serialize(err));
}

Error upstream_error(std::string_view msg) {
  return make_error(Errc::upstream, "upstream error: " + std::string(msg));
}

}  // namespace

Result<ChunkDelta> OpenAiChunkDecoder::decode(const SseEvent& ev) {
  ChunkDelta out;
  if (ev.data == "[DONE]") {
    done_ = true;
    out.done = true;
    return out;
  }
  boost::system::error_code ec;
  json::value v = json::parse(ev.data, ec);
  if (ec || !v.is_object()) {
    if (ev.event == "error") return upstream_error(excerpt(ev.data));
    return make_error(Errc::upstream, "garbage from upstream");
  }
  const json::object& obj = v.get_object();
  if (const auto* err = obj.if_contains("error"); err && !err->is_null()) {
    return upstream_error(error_message(*err));
  }
  if (ev.event == "error") return upstream_error(excerpt(ev.data));
  const auto* choices = obj.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty()) return out;
  const auto* choice = choices->get_array().front().if_object();
  if (!choice) return make_error(Errc::upstream, "garbage from upstream");
  if (const auto* delta = choice->if_contains("delta"); delta && delta->is_object()) {
    if (const auto* c = delta->get_object().if_contains("content"); c && c->is_string()) {
      out.text.assign(c->get_string());
    }
  } else if (const auto* text = choice->if_contains("text"); text && text->is_string()) {
    out.text.assign(text->get_string());  // legacy completions-style chunk
  }
  if (const auto* fr = choice->if_contains("finish_reason"); fr && fr->is_string()) {
    finish_reason_.assign(fr->get_string());
  }
  return out;
}

}  // namespace troupe::llm
