// Replays the fuzz corpora through import_card (and export for accepted cards): no crash, no
// sanitizer report, and accepted cards survive a round trip.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "CardFixtures.h"
#include "cards/Cards.h"

namespace troupe::cards {
namespace {

std::size_t replay(const std::filesystem::path& dir) {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string bytes = buf.str();
    SCOPED_TRACE(entry.path().string());
    auto r = import_card(bytes, 16u << 20);
    ++files;
    if (!r.ok()) {
      EXPECT_FALSE(r.error().message.empty());
      continue;
    }
    for (Spec spec : {Spec::v2, Spec::v3}) {
      auto again = import_card(export_json(*r, spec), 16u << 20);
      EXPECT_TRUE(again.ok()) << again.error().message;
      if (again.ok()) fixtures::expect_same_card(*r, *again);
    }
    auto png = import_card(export_png(*r), 64u << 20);
    EXPECT_TRUE(png.ok()) << png.error().message;
    if (png.ok()) fixtures::expect_same_card(*r, *png);
  }
  return files;
}

TEST(CorpusReplay, PngCard) { EXPECT_GT(replay(TROUPE_FUZZ_CORPUS_DIR "/png_card"), 0u); }

TEST(CorpusReplay, CardJson) { EXPECT_GT(replay(TROUPE_FUZZ_CORPUS_DIR "/card_json"), 0u); }

}  // namespace
}  // namespace troupe::cards
