#include "llm/BackendFactory.h"

#include <spdlog/spdlog.h>

#include "llm/OpenAiBackend.h"
#include "llm/SimBackend.h"

namespace troupe::llm {

std::unique_ptr<Backend> make_backend(const LlmConfig& config) {
  if (config.backend == "openai" || !config.base_url.empty()) {
    auto backend = std::make_unique<OpenAiBackend>(config);
    if (!backend->config_status().ok()) {
      spdlog::error("llm: {}", backend->config_status().error().message);
    }
    return backend;
  }
  if (config.backend != "sim") {
    spdlog::warn("llm: unknown backend '{}'; using the simulator", config.backend);
  }
  return std::make_unique<SimBackend>(config);
}

}  // namespace troupe::llm
