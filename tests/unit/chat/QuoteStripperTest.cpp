#include "chat/QuoteStripper.h"

#include <gtest/gtest.h>

namespace troupe::chat {
namespace {

std::vector<RecalledMemory> mems(std::vector<std::string> texts) {
  std::vector<RecalledMemory> out;
  for (auto& t : texts) out.push_back({"user", std::move(t)});
  return out;
}

TEST(QuoteStripperTest, CutsAQuotedMemoryWithItsLeadIn) {
  auto m = mems({"My sister Ines keeps honeybees on a rooftop in Lisbon."});
  EXPECT_EQ(QuoteStripper::strip("I remember you said: My sister Ines keeps honeybees on a rooftop "
                                 "in Lisbon. The tavern is quiet tonight.",
                                 m),
            "The tavern is quiet tonight.");
  // Case and punctuation do not hide a quote.
  EXPECT_EQ(QuoteStripper::strip("Ah! I remember: my SISTER ines, keeps honeybees... Shall we go?", m),
            "Ah! Shall we go?");
}

TEST(QuoteStripperTest, KeepsRepliesThatDoNotQuote) {
  auto m = mems({"My sister Ines keeps honeybees on a rooftop in Lisbon."});
  const std::string own = "Honeybees are lovely. Lisbon is far from this tavern, friend.";
  EXPECT_EQ(QuoteStripper::strip(own, m), own);
  EXPECT_EQ(QuoteStripper::strip(own, {}), own);
  // Three shared words of a long memory are not a quote.
  EXPECT_EQ(QuoteStripper::strip("Your sister Ines keeps secrets.", m), "Your sister Ines keeps secrets.");
  // A colon not followed by a quote keeps its clause.
  EXPECT_EQ(QuoteStripper::strip("Listen: the road is long.", m), "Listen: the road is long.");
}

TEST(QuoteStripperTest, ShortWholeMemoriesAndPartialQuotes) {
  // A whole memory of three words is a quote; of two words it is not.
  EXPECT_EQ(QuoteStripper::strip("You said: bring the lantern. Done.", mems({"Bring the lantern"})),
            "Done.");
  EXPECT_EQ(QuoteStripper::strip("I will bring lanterns.", mems({"bring lanterns"})),
            "I will bring lanterns.");
  // A quote cut short (the first words of a long memory) is still a quote.
  auto m = mems({"one two three four five six seven eight nine ten eleven twelve"});
  EXPECT_EQ(QuoteStripper::strip("Count: one two three four five. Then rest.", m), "Then rest.");
}

TEST(QuoteStripperTest, SeveralMemoriesAndNothingLeft) {
  auto m = mems({"the river floods every spring", "the miller owes me three coins"});
  EXPECT_EQ(QuoteStripper::strip("the river floods every spring and the miller owes me three coins", m),
            "and");
  EXPECT_EQ(QuoteStripper::strip("I remember you said: the river floods every spring.", m), "");
  EXPECT_EQ(QuoteStripper::strip("", m), "");
}

TEST(QuoteStripperTest, LeadInIsCutOnlyFromItsSentenceStart) {
  auto m = mems({"the river floods every spring"});
  // The lead-in is the clause before ':' within one sentence, at most a few words.
  EXPECT_EQ(QuoteStripper::strip("Good day. You told me once: the river floods every spring. Bye.", m),
            "Good day. Bye.");
  EXPECT_EQ(QuoteStripper::strip(
                "so many words come before the colon in this very long sentence: the river floods "
                "every spring",
                m),
            "so many words come before the colon in this very long sentence:");
}

}  // namespace
}  // namespace troupe::chat
