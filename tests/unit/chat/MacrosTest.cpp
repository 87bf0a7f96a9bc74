#include <gtest/gtest.h>

#include "chat/Macros.h"
#include "chat/TokenCounter.h"

namespace troupe::chat {
namespace {

const MacroValues kValues{"Aria", "Sam", "ORIGINAL"};

std::string expand(std::string_view text) { return expand_macros(text, kValues); }

TEST(Macros, ReplacesCharUserAndOriginal) {
  EXPECT_EQ(expand("{{char}} greets {{user}}."), "Aria greets Sam.");
  EXPECT_EQ(expand("{{original}} More."), "ORIGINAL More.");
  EXPECT_EQ(expand("{{char}}{{char}}{{user}}"), "AriaAriaSam");
}

TEST(Macros, CaseInsensitive) {
  EXPECT_EQ(expand("{{CHAR}} {{Char}} {{uSeR}} {{ORIGINAL}}"), "Aria Aria Sam ORIGINAL");
}

TEST(Macros, LegacyBotAndUserPlaceholders) {
  EXPECT_EQ(expand("<BOT>: hi <USER>"), "Aria: hi Sam");
  EXPECT_EQ(expand("<bot> <user> <Bot> <User>"), "Aria Sam Aria Sam");
}

TEST(Macros, NoPartialMatches) {
  EXPECT_EQ(expand("{{cha}} {{chars}} {{char} {char}} {{ char }}"),
            "{{cha}} {{chars}} {{char} {char}} {{ char }}");
  EXPECT_EQ(expand("<BOTS> <bot <USERNAME> <us> user char"), "<BOTS> <bot <USERNAME> <us> user char");
  EXPECT_EQ(expand("{{char"), "{{char");
  EXPECT_EQ(expand("{{"), "{{");
  EXPECT_EQ(expand("<"), "<");
  EXPECT_EQ(expand("{"), "{");
}

TEST(Macros, AdjacentBracesAndEmptyInput) {
  EXPECT_EQ(expand(""), "");
  EXPECT_EQ(expand("{{{char}}}"), "{Aria}");
  EXPECT_EQ(expand("<<BOT>>"), "<Aria>");
  EXPECT_EQ(expand("a{b}c<d>e"), "a{b}c<d>e");
}

TEST(Macros, ValuesAreNotExpandedAgain) {
  // A name that looks like a macro stays literal: expansion is a single pass.
  MacroValues v{"{{user}}", "<BOT>", ""};
  EXPECT_EQ(expand_macros("{{char}} and {{user}}", v), "{{user}} and <BOT>");
}

TEST(Macros, EmptyValuesRemoveTheMacro) {
  MacroValues v{"", "", ""};
  EXPECT_EQ(expand_macros("[{{char}}|{{user}}|{{original}}]", v), "[||]");
}

TEST(Macros, Utf8TextIsPreserved) {
  MacroValues v{"Zoë", "Jürgen", ""};
  EXPECT_EQ(expand_macros("«{{char}}» — {{user}} 日本語", v), "«Zoë» — Jürgen 日本語");
}

TEST(EstimateTokenCounter, Empty) {
  EstimateTokenCounter c;
  EXPECT_EQ(c.count(""), 0);
  EXPECT_EQ(c.count("   \n\t\r "), 0);
}

TEST(EstimateTokenCounter, WordsCostAQuarterOfTheirLengthRoundedUp) {
  EstimateTokenCounter c;
  EXPECT_EQ(c.count("a"), 1);
  EXPECT_EQ(c.count("abcd"), 1);
  EXPECT_EQ(c.count("abcde"), 2);
  EXPECT_EQ(c.count("hello world"), 4);
  EXPECT_EQ(c.count("  hello   world  "), 4);
  EXPECT_EQ(c.count("42 1234567"), 3);
}

TEST(EstimateTokenCounter, PunctuationCostsOneEach) {
  EstimateTokenCounter c;
  EXPECT_EQ(c.count("."), 1);
  EXPECT_EQ(c.count("Hi, there!"), 5);   // Hi , there !
  EXPECT_EQ(c.count("don't"), 3);        // don ' t
  EXPECT_EQ(c.count("*waves* ..."), 7);  // * waves * . . .
  EXPECT_EQ(c.count("a_b"), 3);          // '_' is punctuation here
}

TEST(EstimateTokenCounter, LongWords) {
  EstimateTokenCounter c;
  EXPECT_EQ(c.count(std::string(16, 'x')), 4);
  EXPECT_EQ(c.count(std::string(17, 'x')), 5);
  EXPECT_EQ(c.count(std::string(4000, 'x')), 1000);
}

TEST(EstimateTokenCounter, Utf8BytesCountAsWordBytes) {
  EstimateTokenCounter c;
  EXPECT_EQ(c.count("héllo"), 2);   // 6 bytes
  EXPECT_EQ(c.count("日本語"), 3);  // 9 bytes
  EXPECT_EQ(c.count("Zoë!"), 2);    // 4-byte word + '!'
  EXPECT_EQ(c.count("🙂"), 1);      // 4 bytes
}

TEST(EstimateTokenCounter, IsWithinReasonOfRealTokenizersOnProse) {
  EstimateTokenCounter c;
  // ~22 BPE tokens for GPT-style tokenizers.
  const std::string prose =
      "The lighthouse keeper climbed the stairs slowly, counting each step as the storm rolled "
      "in from the sea.";
  int n = c.count(prose);
  EXPECT_GE(n, 18);
  EXPECT_LE(n, 40);
}

}  // namespace
}  // namespace troupe::chat
