#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <string>

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

TEST(EstimateTokenCounter, AgreesWithTheRuleOnRandomText) {
  // The rule written plainly: runs of word bytes cost ceil(length / 4), other non-space bytes 1.
  auto reference = [](std::string_view text) {
    int tokens = 0;
    std::size_t i = 0;
    while (i < text.size()) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      const bool word = std::isalnum(c) || c >= 0x80;
      if (word) {
        std::size_t j = i;
        while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) ||
                                   static_cast<unsigned char>(text[j]) >= 0x80)) {
          ++j;
        }
        tokens += static_cast<int>((j - i + 3) / 4);
        i = j;
      } else {
        if (c != ' ' && c != '\n' && c != '\t' && c != '\r') ++tokens;
        ++i;
      }
    }
    return tokens;
  };
  EstimateTokenCounter c;
  std::uint32_t state = 12345;
  const std::string alphabet = "abcXYZ019 \n\t\r.,!'_-*\xc3\xa9\xe6\x97\xa5";
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int len = static_cast<int>(state % 64);
    for (int i = 0; i < len; ++i) {
      state = state * 1664525u + 1013904223u;
      text += alphabet[(state >> 16) % alphabet.size()];
    }
    state = state * 1664525u + 1013904223u;
    ASSERT_EQ(c.count(text), reference(text)) << '"' << text << '"';
  }
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
