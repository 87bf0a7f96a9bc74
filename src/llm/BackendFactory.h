// make_backend(): picks the LLM backend from the configuration ("openai" when llm.backend says so
// or llm.base_url is set, otherwise the simulator).
// Thread-safety: a pure function; the returned backend follows Backend's contract.
#pragma once

#include <memory>

#include "core/Config.h"
#include "llm/Backend.h"

namespace troupe::llm {

std::unique_ptr<Backend> make_backend(const LlmConfig& config);

}  // namespace troupe::llm
