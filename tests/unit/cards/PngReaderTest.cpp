#include <gtest/gtest.h>

#include "CardFixtures.h"
#include "cards/PngReader.h"

namespace troupe::cards {
namespace {

using namespace fixtures;

bool has(const Error& e, std::string_view part) {
  return e.message.find(part) != std::string::npos;
}

TEST(PngReader, WalksChunksOfAValidImage) {
  const std::string png = png_with({text_chunk("Comment", "hello")});
  auto r = PngReader::parse(png);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& c = r->chunks();
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c.front().type, "IHDR");
  EXPECT_EQ(c[1].type, "IDAT");
  EXPECT_EQ(c[2].type, "tEXt");
  EXPECT_EQ(c.back().type, "IEND");
  EXPECT_EQ(c[2].index, 2u);
  EXPECT_EQ(PngReader::text_keyword(c[2]), "Comment");
  EXPECT_EQ(PngReader::text_keyword(c[1]), "");
  auto text = r->find_text("comment");  // keywords match ASCII case-insensitively
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(text->has_value());
  EXPECT_EQ(**text, "hello");
  EXPECT_FALSE(r->find_text("chara").value().has_value());
}

TEST(PngReader, ReadsCompressedAndInternationalText) {
  const std::string png =
      png_with({ztxt_chunk("a", "zipped text"), itxt_chunk("b", "plain \xC3\xA9", false),
                itxt_chunk("c", "zipped \xC3\xA9", true)});
  auto r = PngReader::parse(png);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->find_text("a").value().value(), "zipped text");
  EXPECT_EQ(r->find_text("b").value().value(), "plain \xC3\xA9");
  EXPECT_EQ(r->find_text("c").value().value(), "zipped \xC3\xA9");
}

TEST(PngReader, IgnoresBytesAfterIend) {
  const std::string png = base_png() + "trailing garbage";
  auto r = PngReader::parse(png);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->chunks().back().type, "IEND");
}

TEST(PngReader, RefusesBadSignature) {
  std::string png = base_png();
  png[1] = 'Q';
  auto r = PngReader::parse(png);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::bad_request);
  EXPECT_TRUE(has(r.error(), "bad signature"));
}

TEST(PngReader, RefusesBadCrcNamingTheChunk) {
  std::string png = png_with({text_chunk("chara", "abcd")});
  png[png.size() - 12 - 5] ^= 1;  // last byte of the tEXt data
  auto r = PngReader::parse(png);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::bad_request);
  EXPECT_TRUE(has(r.error(), "PNG chunk 2 (tEXt) at byte")) << r.error().message;
  EXPECT_TRUE(has(r.error(), "CRC mismatch"));
}

TEST(PngReader, RefusesTruncatedChunk) {
  const std::string png = png_with({text_chunk("chara", "abcdefgh")});
  const std::size_t cut = png.size() - 12 - 8;  // inside the tEXt chunk
  const std::string cut_png = png.substr(0, cut);
  auto r = PngReader::parse(cut_png);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r.error(), "truncated chunk")) << r.error().message;
  const std::string header_png = png.substr(0, 8 + 25 + 4);
  auto header_only = PngReader::parse(header_png);
  ASSERT_FALSE(header_only.ok());
  EXPECT_TRUE(has(header_only.error(), "truncated chunk header")) << header_only.error().message;
}

TEST(PngReader, RefusesHugeChunkLengths) {
  std::string huge = png_with({text_chunk("x", "y")});
  const std::size_t at = huge.size() - 12 - 15;  // length field of the tEXt chunk
  std::string over = huge;
  over[at] = '\x7F';
  auto r = PngReader::parse(over);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::too_large);
  EXPECT_TRUE(has(r.error(), "exceeds the limit")) << r.error().message;
  over[at] = '\x80';
  auto r2 = PngReader::parse(over);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().code, Errc::bad_request);
  EXPECT_TRUE(has(r2.error(), "2^31-1"));
}

TEST(PngReader, RefusesMissingIendAndBadStructure) {
  const std::string png = base_png();
  const std::string no_iend_png = png.substr(0, png.size() - 12);
  auto no_iend = PngReader::parse(no_iend_png);
  ASSERT_FALSE(no_iend.ok());
  EXPECT_TRUE(has(no_iend.error(), "without an IEND")) << no_iend.error().message;

  std::string no_ihdr(PngReader::kSignature);
  no_ihdr += chunk("IDAT", "x") + chunk("IEND", "");
  auto r = PngReader::parse(no_ihdr);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r.error(), "first chunk must be IHDR"));

  std::string no_idat = png.substr(0, 8 + 25) + chunk("IEND", "");
  auto r2 = PngReader::parse(no_idat);
  ASSERT_FALSE(r2.ok());
  EXPECT_TRUE(has(r2.error(), "no IDAT"));

  const std::string bad_type_png = insert_before_iend(png, chunk("t3Xt", ""));
  auto bad_type = PngReader::parse(bad_type_png);
  ASSERT_FALSE(bad_type.ok());
  EXPECT_TRUE(has(bad_type.error(), "(0x74335874)")) << bad_type.error().message;

  const std::string bad_keyword_png = insert_before_iend(png, chunk("tEXt", "no terminator"));
  auto bad_keyword = PngReader::parse(bad_keyword_png);
  ASSERT_FALSE(bad_keyword.ok());
  EXPECT_TRUE(has(bad_keyword.error(), "keyword is not NUL-terminated"));
}

TEST(PngReader, RefusesTooManyChunks) {
  std::string many;
  const std::string tiny = chunk("tiNy", "");
  for (int i = 0; i < 100'000; ++i) many += tiny;
  const std::string png = insert_before_iend(base_png(), many);
  auto r = PngReader::parse(png);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::too_large);
  EXPECT_TRUE(has(r.error(), "more than 10000 chunks"));
}

TEST(PngReader, RefusesOversizedFile) {
  PngLimits limits;
  limits.max_total_bytes = 100;
  const std::string png = png_with({text_chunk("k", std::string(200, 'a'))});
  auto r = PngReader::parse(png, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::too_large);
}

TEST(PngReader, RefusesCompressedTextBomb) {
  const std::string zeros(24u << 20, '\0');  // 24 MiB of zeros deflate to ~24 KiB
  const std::string png = png_with({ztxt_chunk("chara", zeros), itxt_chunk("ccv3", zeros, true)});
  auto r = PngReader::parse(png);
  ASSERT_TRUE(r.ok()) << r.error().message;  // walking does not inflate
  for (const char* keyword : {"chara", "ccv3"}) {
    auto t = r->find_text(keyword);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code, Errc::too_large);
    EXPECT_TRUE(has(t.error(), "inflates past the limit")) << t.error().message;
  }
}

TEST(PngReader, RefusesCorruptCompressedText) {
  std::string data = "chara";
  data.push_back('\0');
  data.push_back('\0');
  data += "not zlib at all";
  const std::string png = png_with({chunk("zTXt", data)});
  auto r = PngReader::parse(png);
  ASSERT_TRUE(r.ok());
  auto t = r->find_text("chara");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, Errc::bad_request);
  EXPECT_TRUE(has(t.error(), "PNG chunk 2 (zTXt)")) << t.error().message;

  const std::string full = zlib_stream::deflate("some text");
  std::string cut = "chara";
  cut.append(2, '\0');
  cut += full.substr(0, full.size() - 3);
  const std::string png2 = png_with({chunk("zTXt", cut)});
  auto r2 = PngReader::parse(png2);
  ASSERT_TRUE(r2.ok());
  auto t2 = r2->find_text("chara");
  ASSERT_FALSE(t2.ok());
  EXPECT_TRUE(has(t2.error(), "truncated")) << t2.error().message;
}

}  // namespace
}  // namespace troupe::cards
