// openai_request_body(): the JSON body of a streaming POST /chat/completions for a Request.
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <string_view>

#include "llm/Backend.h"

namespace troupe::llm {

// {model, messages, stream:true, max_tokens, temperature, top_p[, stop]}. When `continue_from` is
// set and the last message is not that assistant text, it is appended as an assistant message so
// the model continues it.
std::string openai_request_body(const Request& request, std::string_view model);

}  // namespace troupe::llm
