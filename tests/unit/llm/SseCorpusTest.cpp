// Replays the fuzz corpus of the SSE parser: each file parsed in one piece and byte by byte must
// give the same events and the same outcome.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "llm/OpenAiChunkDecoder.h"
#include "llm/SseParser.h"

namespace troupe::llm {
namespace {

struct Outcome {
  std::vector<SseEvent> events;
  bool ok = true;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

Outcome parse(std::string_view s, std::size_t piece) {
  SseParser p(SseLimits{.max_line = 4096, .max_event = 16384});
  Outcome out;
  for (std::size_t i = 0; i < s.size() && out.ok; i += piece) {
    out.ok = p.feed(s.substr(i, piece), out.events).ok();
  }
  return out;
}

TEST(SseCorpus, WholeAndByteByByteAgree) {
  const std::filesystem::path dir = TROUPE_FUZZ_CORPUS_DIR "/sse_parser";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string input = ss.str();
    const auto whole = parse(input, input.size() + 1);
    EXPECT_EQ(parse(input, 1), whole) << entry.path();
    EXPECT_EQ(parse(input, 3), whole) << entry.path();
    OpenAiChunkDecoder decoder;  // must not throw on anything the parser yields
    for (const auto& ev : whole.events) (void)decoder.decode(ev);
    ++files;
  }
  EXPECT_GE(files, 8);
}

}  // namespace
}  // namespace troupe::llm
