#include <gtest/gtest.h>

#include "CardFixtures.h"
#include "cards/PngWriter.h"

namespace troupe::cards {
namespace {

using namespace fixtures;

std::uint32_t be32(std::string_view s, std::size_t at) {
  std::uint32_t v = 0;
  for (int k = 0; k < 4; ++k) v = (v << 8) | static_cast<unsigned char>(s[at + k]);
  return v;
}

TEST(PngWriter, PlaceholderIsAValidSolidImage) {
  const std::string png = PngWriter::placeholder("Marie");
  auto r = PngReader::parse(png);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const PngChunk& ihdr = r->chunks().front();
  EXPECT_EQ(be32(ihdr.data, 0), 256u);
  EXPECT_EQ(be32(ihdr.data, 4), 256u);
  EXPECT_EQ(ihdr.data.substr(8), std::string_view("\x08\x02\x00\x00\x00", 5));
  std::string idat;
  for (const auto& c : r->chunks()) {
    if (c.type == "IDAT") idat.append(c.data);
  }
  auto pixels = zlib_stream::inflate(idat, 1u << 20);
  ASSERT_TRUE(pixels.ok());
  ASSERT_EQ(pixels->size(), 256u * (1 + 256 * 3));
  const std::string_view first_pixel = std::string_view(*pixels).substr(1, 3);
  for (std::size_t y = 0; y < 256; ++y) {
    const std::size_t row = y * (1 + 256 * 3);
    ASSERT_EQ((*pixels)[row], '\0');  // filter type None
    for (std::size_t x = 0; x < 256; ++x) {
      ASSERT_EQ(std::string_view(*pixels).substr(row + 1 + x * 3, 3), first_pixel);
    }
  }
  EXPECT_LT(png.size(), 4096u);
  EXPECT_NE(PngWriter::placeholder("Marie"), PngWriter::placeholder("Tom"));
  EXPECT_EQ(PngWriter::placeholder("Marie"), png);
}

TEST(PngWriter, RewriteReplacesCardChunksBeforeIend) {
  const std::string png = png_with({text_chunk("chara", "old"), text_chunk("Comment", "keep"),
                                    ztxt_chunk("CCV3", "old3"), itxt_chunk("chara", "old", false)});
  auto r = PngReader::parse(png);
  ASSERT_TRUE(r.ok());
  const std::string out =
      PngWriter::rewrite(*r, {"chara", "ccv3"}, {{"chara", "NEW"}, {"ccv3", "NEW3"}});
  auto w = PngReader::parse(out);
  ASSERT_TRUE(w.ok()) << w.error().message;
  std::vector<std::string> seen;
  for (const auto& c : w->chunks()) {
    seen.push_back(std::string(c.type) + ":" + std::string(PngReader::text_keyword(c)));
  }
  const std::vector<std::string> expect{"IHDR:",      "IDAT:",     "tEXt:Comment",
                                        "tEXt:chara", "tEXt:ccv3", "IEND:"};
  EXPECT_EQ(seen, expect);
  EXPECT_EQ(w->find_text("chara").value().value(), "NEW");
  EXPECT_EQ(w->find_text("ccv3").value().value(), "NEW3");
  // Untouched chunks are copied byte for byte.
  EXPECT_EQ(w->chunks()[2].raw, r->chunks()[3].raw);
}

TEST(PngWriter, RewriteWithoutChangesIsIdentity) {
  const std::string png = png_with({text_chunk("Comment", "x")});
  auto r = PngReader::parse(png);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(PngWriter::rewrite(*r, {}, {}), png);
}

}  // namespace
}  // namespace troupe::cards
