#include "llm/OpenAiRequestBody.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace troupe::llm {

namespace json = boost::json;

std::string openai_request_body(const Request& request, std::string_view model) {
  json::array messages;
  messages.reserve(request.messages.size() + 1);
  for (const auto& m : request.messages) {
    messages.push_back(json::object{{"role", m.role}, {"content", m.content}});
  }
  if (!request.continue_from.empty()) {
    const bool already = !request.messages.empty() && request.messages.back().role == "assistant" &&
                         request.messages.back().content == request.continue_from;
    if (!already) {
      messages.push_back(json::object{{"role", "assistant"}, {"content", request.continue_from}});
    }
  }
  json::object body;
  body["model"] = model;
  body["messages"] = std::move(messages);
  body["stream"] = true;
  body["max_tokens"] = request.max_tokens;
  body["temperature"] = request.temperature;
  body["top_p"] = request.top_p;
  if (!request.stop.empty()) {
    json::array stop;
    for (const auto& s : request.stop) stop.emplace_back(s);
    body["stop"] = std::move(stop);
  }
  return json::serialize(body);
}

}  // namespace troupe::llm
