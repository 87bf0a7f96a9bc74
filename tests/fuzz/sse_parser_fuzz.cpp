// libFuzzer target for llm::SseParser: the input (after its first byte) parsed in one piece must
// give the same events and outcome as the input split at a position derived from the first byte;
// every event also goes through the OpenAI chunk decoder, which must never throw.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "llm/OpenAiChunkDecoder.h"
#include "llm/SseParser.h"

namespace {

using troupe::llm::SseEvent;
using troupe::llm::SseLimits;
using troupe::llm::SseParser;

struct Outcome {
  std::vector<SseEvent> events;
  bool ok = true;
  bool operator==(const Outcome&) const = default;
};

// Small limits so that the error paths are reached too.
constexpr SseLimits kLimits{.max_line = 512, .max_event = 2048};

Outcome parse(std::string_view a, std::string_view b) {
  SseParser p(kLimits);
  Outcome out;
  out.ok = p.feed(a, out.events).ok();
  if (out.ok) out.ok = p.feed(b, out.events).ok();
  if (p.buffered() > kLimits.max_line + kLimits.max_event) std::abort();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t split = (static_cast<std::size_t>(data[0]) * (input.size() + 1)) / 256;
  const Outcome whole = parse(input, {});
  const Outcome pieces = parse(input.substr(0, split), input.substr(split));
  if (!(whole == pieces)) std::abort();
  troupe::llm::OpenAiChunkDecoder decoder;
  for (const auto& ev : whole.events) (void)decoder.decode(ev);
  return 0;
}
