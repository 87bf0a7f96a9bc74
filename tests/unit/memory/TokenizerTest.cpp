#include "memory/embed/Tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace troupe::memory {
namespace {

std::vector<std::string> tok(std::string_view text) {
  Tokenizer t;
  std::vector<std::string_view> out;
  t.tokenize(text, out);
  return {out.begin(), out.end()};
}

using V = std::vector<std::string>;

TEST(Tokenizer, LowerCasesAndDropsPunctuation) {
  EXPECT_EQ(tok("Hello, World! How are YOU?"), (V{"hello", "world", "how", "are", "you"}));
  EXPECT_EQ(tok("  ...!!  "), V{});
  EXPECT_EQ(tok(""), V{});
}

TEST(Tokenizer, SplitsContractionsLikeGlove) {
  EXPECT_EQ(tok("I don't know"), (V{"i", "do", "n't", "know"}));
  EXPECT_EQ(tok("She's here, we're late, I'll go, I'd say, I've seen, I'm ok"),
            (V{"she", "'s", "here", "we", "'re", "late", "i", "'ll", "go", "i", "'d", "say", "i",
               "'ve", "seen", "i", "'m", "ok"}));
  EXPECT_EQ(tok("can't won't"), (V{"ca", "n't", "wo", "n't"}));
  EXPECT_EQ(tok("Anna's cat"), (V{"anna", "'s", "cat"}));
}

TEST(Tokenizer, KeepsOtherInnerApostrophesAndStripsQuotes) {
  EXPECT_EQ(tok("at five o'clock"), (V{"at", "five", "o'clock"}));
  EXPECT_EQ(tok("'quoted' words''"), (V{"quoted", "words"}));
  EXPECT_EQ(tok("' '' '''"), V{});
}

TEST(Tokenizer, CurlyApostropheCountsAsApostrophe) {
  EXPECT_EQ(tok("don\xE2\x80\x99t"), (V{"do", "n't"}));
}

TEST(Tokenizer, NumbersKeepInnerSeparators) {
  EXPECT_EQ(tok("pi is 3.14, about 1,000 times 2."), (V{"pi", "is", "3.14", "about", "1,000", "times", "2"}));
  EXPECT_EQ(tok("version 2.0.1"), (V{"version", "2.0.1"}));
  EXPECT_EQ(tok("a,b c.d"), (V{"a", "b", "c", "d"}));
}

TEST(Tokenizer, HyphenatedCompoundsStayAndNonAsciiIsKept) {
  EXPECT_EQ(tok("a well-known e-mail - or -not- x--y"), (V{"a", "well-known", "e-mail", "or", "not", "x", "y"}));
  EXPECT_EQ(tok("Café au lait"), (V{"café", "au", "lait"}));
}

TEST(Tokenizer, ReusesBuffersAcrossCalls) {
  Tokenizer t;
  std::vector<std::string_view> out;
  t.tokenize("first text here", out);
  EXPECT_EQ(out.size(), 3u);
  t.tokenize("second", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "second");
}

TEST(Tokenizer, OversizedTextIsCut) {
  std::string big(Tokenizer::kMaxTextBytes + 100, 'a');
  big[Tokenizer::kMaxTextBytes] = ' ';
  auto v = tok(big);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].size(), Tokenizer::kMaxTextBytes);
}

}  // namespace
}  // namespace troupe::memory
