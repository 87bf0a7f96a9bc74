#include <gtest/gtest.h>

#include "chat/PromptBuilder.h"

namespace troupe::chat {
namespace {

// One token per byte: makes budgets exact in the tests.
class ByteCounter final : public TokenCounter {
 public:
  int count(std::string_view text) const override { return static_cast<int>(text.size()); }
};

constexpr const char* kDefaultPrompt = "Write {{char}}'s reply to {{user}}.";

PromptSettings settings(int context = 8192, int max_tokens = 300) {
  PromptSettings s;
  s.default_system_prompt = kDefaultPrompt;
  s.context_size = context;
  s.max_tokens = max_tokens;
  s.temperature = 0.55;
  s.top_p = 0.9;
  return s;
}

store::Character character() {
  store::Character c;
  c.id = 1;
  c.name = "Aria";
  return c;
}

store::Message msg(std::string role, std::string content, store::Id id = 0) {
  store::Message m;
  m.id = id;
  m.role = std::move(role);
  m.content = std::move(content);
  return m;
}

PromptInput input(const store::Character& ch, std::vector<store::Message> history = {}) {
  PromptInput in;
  in.character = &ch;
  in.user_name = "Sam";
  in.history = std::move(history);
  return in;
}

TEST(PromptBuilder, DefaultSystemPromptWithMacros) {
  ByteCounter counter;
  PromptBuilder b(settings(), counter);
  auto ch = character();
  auto req = b.build(input(ch, {msg("user", "Hello")}));
  ASSERT_EQ(req.messages.size(), 2u);
  EXPECT_EQ(req.messages[0].role, "system");
  EXPECT_EQ(req.messages[0].content, "Write Aria's reply to Sam.");
  EXPECT_EQ(req.messages[1].role, "user");
  EXPECT_EQ(req.messages[1].content, "Hello");
  EXPECT_EQ(req.char_name, "Aria");
  EXPECT_EQ(req.user_name, "Sam");
}

TEST(PromptBuilder, CardSystemPromptOverridesTheDefault) {
  ByteCounter counter;
  PromptBuilder b(settings(), counter);
  auto ch = character();
  ch.system_prompt = "  You are {{char}}, talking to {{user}}.  ";
  auto req = b.build(input(ch));
  ASSERT_FALSE(req.messages.empty());
  EXPECT_EQ(req.messages[0].content, "You are Aria, talking to Sam.");
}

TEST(PromptBuilder, CardSystemPromptCanIncludeTheOriginal) {
  ByteCounter counter;
  PromptBuilder b(settings(), counter);
  auto ch = character();
  ch.system_prompt = "{{original}} Stay in character as {{char}}.";
  auto req = b.build(input(ch));
  ASSERT_FALSE(req.messages.empty());
  // The default prompt's own macros are expanded too.
  EXPECT_EQ(req.messages[0].content, "Write Aria's reply to Sam. Stay in character as Aria.");
}

TEST(PromptBuilder, CardSectionsInOrder) {
  ByteCounter counter;
  PromptBuilder b(settings(), counter);
  auto ch = character();
  ch.description = "{{char}} is a lighthouse keeper.";
  ch.personality = "calm, dry humour";
  ch.scenario = "A storm hits {{user}}'s boat.";
  store::Persona persona;
  persona.name = "Sam";
  persona.description = "A sailor who met {{char}} once.";
  auto in = input(ch);
  in.persona = &persona;
  auto req = b.build(in);
  ASSERT_EQ(req.messages.size(), 1u);
  EXPECT_EQ(req.messages[0].content,
            "Write Aria's reply to Sam.\n\n"
            "Aria is a lighthouse keeper.\n\n"
            "Aria's personality: calm, dry humour\n\n"
            "Scenario: A storm hits Sam's boat.\n\n"
            "About Sam: A sailor who met Aria once.");
}

TEST(PromptBuilder, EmptySectionsAreLeftOut) {
  ByteCounter counter;
  PromptBuilder b(settings(), counter);
  auto ch = character();
  ch.scenario = "At sea.";
  store::Persona persona;
  persona.name = "Sam";  // no description
  auto in = input(ch);
  in.persona = &persona;
  auto req = b.build(in);
  EXPECT_EQ(req.messages[0].content, "Write Aria's reply to Sam.\n\nScenario: At sea.");
}

TEST(PromptBuilder, SplitExamplesAtStartMarkers) {
  EXPECT_TRUE(PromptBuilder::split_examples("").empty());
  EXPECT_TRUE(PromptBuilder::split_examples("<START>\n  \n<START>").empty());
  auto one = PromptBuilder::split_examples("{{user}}: hi\n{{char}}: hello");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0], "{{user}}: hi\n{{char}}: hello");
  auto two = PromptBuilder::split_examples(
      "<START>\n{{user}}: hi\n{{char}}: hello\n<START>\n{{user}}: bye\n{{char}}: farewell\n");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0], "{{user}}: hi\n{{char}}: hello");
  EXPECT_EQ(two[1], "{{user}}: bye\n{{char}}: farewell");
  auto lead = PromptBuilder::split_examples("intro\n<START>a<START>b");
  EXPECT_EQ(lead, (std::vector<std::string>{"intro", "a", "b"}));
  // Markers are case-sensitive, as in the card format.
  EXPECT_EQ(PromptBuilder::split_examples("a<start>b").size(), 1u);
}

TEST(PromptBuilder, ExamplesGoIntoTheSystemMessageWithMacros) {
  ByteCounter counter;
  PromptBuilder b(settings(), counter);
  auto ch = character();
  ch.mes_example = "<START>\n{{user}}: hi\n{{char}}: hello\n<START>\n<USER>: bye\n<BOT>: farewell";
  auto req = b.build(input(ch, {msg("user", "Hey")}));
  ASSERT_EQ(req.messages.size(), 2u);
  EXPECT_EQ(req.messages[0].content,
            "Write Aria's reply to Sam.\n\n"
            "Example dialogue:\n"
            "<START>\nSam: hi\nAria: hello\n\n"
            "<START>\nSam: bye\nAria: farewell");
}

TEST(PromptBuilder, HistoryRolesAndOrder) {
  ByteCounter counter;
  PromptBuilder b(settings(), counter);
  auto ch = character();
  auto req = b.build(input(ch, {msg("assistant", "Greetings."), msg("user", "Hi"),
                                msg("system", "[note]"), msg("assistant", "Hello again")}));
  ASSERT_EQ(req.messages.size(), 5u);
  EXPECT_EQ(req.messages[1].role, "assistant");
  EXPECT_EQ(req.messages[1].content, "Greetings.");
  EXPECT_EQ(req.messages[2].role, "user");
  EXPECT_EQ(req.messages[3].role, "system");
  EXPECT_EQ(req.messages[3].content, "[note]");
  EXPECT_EQ(req.messages[4].role, "assistant");
  EXPECT_TRUE(req.continue_from.empty());
}

TEST(PromptBuilder, PostHistoryInstructionsComeLast) {
  ByteCounter counter;
  PromptBuilder b(settings(), counter);
  auto ch = character();
  ch.post_history_instructions = " Reply as {{char}} in under 50 words. {{original}}";
  auto req = b.build(input(ch, {msg("user", "Hi")}));
  ASSERT_EQ(req.messages.size(), 3u);
  EXPECT_EQ(req.messages.back().role, "system");
  // {{original}} means nothing here and expands to empty.
  EXPECT_EQ(req.messages.back().content, "Reply as Aria in under 50 words.");
}

TEST(PromptBuilder, ContinueSetsContinueFromAndSkipsPostHistory) {
  ByteCounter counter;
  PromptBuilder b(settings(), counter);
  auto ch = character();
  ch.post_history_instructions = "Be brief.";
  auto in = input(ch, {msg("user", "Tell me a story"), msg("assistant", "Once upon a time")});
  in.continue_last = true;
  auto req = b.build(in);
  EXPECT_EQ(req.continue_from, "Once upon a time");
  ASSERT_EQ(req.messages.size(), 3u);
  EXPECT_EQ(req.messages.back().role, "assistant");
  EXPECT_EQ(req.messages.back().content, "Once upon a time");
}

TEST(PromptBuilder, ContinueOfANonAssistantMessageIsAPlainReply) {
  ByteCounter counter;
  PromptBuilder b(settings(), counter);
  auto ch = character();
  auto in = input(ch, {msg("user", "Hello")});
  in.continue_last = true;
  auto req = b.build(in);
  EXPECT_TRUE(req.continue_from.empty());
}

TEST(PromptBuilder, SamplingSettingsAndStopAreCopied) {
  ByteCounter counter;
  PromptBuilder b(settings(4096, 123), counter);
  auto ch = character();
  auto req = b.build(input(ch, {msg("user", "Hi")}));
  EXPECT_EQ(req.max_tokens, 123);
  EXPECT_DOUBLE_EQ(req.temperature, 0.55);
  EXPECT_DOUBLE_EQ(req.top_p, 0.9);
  EXPECT_EQ(req.stop, (std::vector<std::string>{"\nSam:"}));
}

// Budget = max(256, context - max_tokens); with ByteCounter each message costs len + 4.
TEST(PromptBuilder, EverythingFitsWithinTheBudget) {
  ByteCounter counter;
  PromptBuilder b(settings(1000, 100), counter);
  auto ch = character();
  ch.mes_example = "<START>example one<START>example two";
  std::vector<store::Message> h;
  for (int i = 0; i < 5; ++i) h.push_back(msg(i % 2 ? "assistant" : "user", "message " + std::to_string(i)));
  PromptReport rep;
  auto req = b.build(input(ch, h), &rep);
  EXPECT_EQ(rep.history_used, 5);
  EXPECT_EQ(rep.history_dropped, 0);
  EXPECT_FALSE(rep.examples_dropped);
  EXPECT_EQ(req.messages.size(), 6u);
  EXPECT_NE(req.messages[0].content.find("example two"), std::string::npos);
  EXPECT_LE(rep.prompt_tokens, 900);
}

TEST(PromptBuilder, BudgetDropsOldestHistoryFirst) {
  ByteCounter counter;
  // Budget 256. System "Write Aria's reply to Sam." = 26 + 4 = 30.
  PromptBuilder b(settings(356, 100), counter);
  auto ch = character();
  std::vector<store::Message> h;
  for (int i = 0; i < 10; ++i) {
    h.push_back(msg(i % 2 ? "assistant" : "user", std::string(36, static_cast<char>('a' + i))));
  }
  // Each message costs 40: 30 + 5 * 40 = 230 fits, a sixth (270) does not.
  PromptReport rep;
  auto req = b.build(input(ch, h), &rep);
  EXPECT_EQ(rep.history_used, 5);
  EXPECT_EQ(rep.history_dropped, 5);
  EXPECT_EQ(rep.prompt_tokens, 230);
  ASSERT_EQ(req.messages.size(), 6u);
  // The newest five, in order.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(req.messages[1 + i].content, std::string(36, static_cast<char>('a' + 5 + i)));
  }
}

TEST(PromptBuilder, CostsCountedBeforeAreUsedAndTheRestAreCounted) {
  ByteCounter counter;
  PromptBuilder b(settings(356, 100), counter);  // budget 256, system 30
  auto ch = character();
  std::vector<store::Message> h;
  for (int i = 0; i < 10; ++i) {
    h.push_back(msg(i % 2 ? "assistant" : "user", std::string(36, static_cast<char>('a' + i))));
  }
  auto in = input(ch, h);
  // Counted before for the oldest eight (as a cached path carries them): message 7 claims 150,
  // so after the newest three (40 each, counted now) it no longer fits and the cut comes there.
  in.history_costs = {40, 40, 40, 40, 40, 40, 40, 150};
  PromptReport rep;
  auto req = b.build(in, &rep);
  EXPECT_EQ(rep.history_used, 2);
  EXPECT_EQ(rep.prompt_tokens, 30 + 40 + 40);
  ASSERT_EQ(req.messages.size(), 3u);
  EXPECT_EQ(req.messages[1].content, std::string(36, 'i'));
  // Without them every message is counted: the newest five fit, as above.
  in.history_costs.clear();
  b.build(in, &rep);
  EXPECT_EQ(rep.history_used, 5);
}

TEST(PromptBuilder, BudgetDropsExamplesOnlyAfterOlderHistory) {
  ByteCounter counter;
  PromptBuilder b(settings(356, 100), counter);  // budget 256
  auto ch = character();
  // Two example blocks of 40 bytes: each costs 42.
  ch.mes_example = "<START>" + std::string(40, 'x') + "<START>" + std::string(40, 'y');
  std::vector<store::Message> h;
  for (int i = 0; i < 6; ++i) h.push_back(msg("user", std::string(36, static_cast<char>('a' + i))));
  // 30 (system) + 40 (newest) + 84 (examples) = 154; two more messages fit (234), a third not.
  PromptReport rep;
  auto req = b.build(input(ch, h), &rep);
  EXPECT_FALSE(rep.examples_dropped);
  EXPECT_EQ(rep.history_used, 3);
  EXPECT_EQ(rep.history_dropped, 3);
  EXPECT_EQ(rep.prompt_tokens, 234);
  EXPECT_NE(req.messages[0].content.find(std::string(40, 'y')), std::string::npos);
  ASSERT_EQ(req.messages.size(), 4u);
  EXPECT_EQ(req.messages.back().content, std::string(36, 'f'));
  EXPECT_EQ(req.messages[1].content, std::string(36, 'd'));
}

TEST(PromptBuilder, BudgetDropsExamplesWhenOnlyTheNewestMessageIsLeft) {
  ByteCounter counter;
  PromptBuilder b(settings(356, 100), counter);  // budget 256
  auto ch = character();
  // 30 (system) + 140 (newest) = 170; the first example (42) fits (212), the second not.
  ch.mes_example = "<START>" + std::string(40, 'x') + "<START>" + std::string(80, 'y');
  std::vector<store::Message> h{msg("user", std::string(50, 'a')), msg("user", std::string(136, 'b'))};
  PromptReport rep;
  auto req = b.build(input(ch, h), &rep);
  EXPECT_TRUE(rep.examples_dropped);
  EXPECT_EQ(rep.history_used, 1);
  EXPECT_EQ(rep.history_dropped, 1);
  EXPECT_NE(req.messages[0].content.find(std::string(40, 'x')), std::string::npos);
  EXPECT_EQ(req.messages[0].content.find(std::string(80, 'y')), std::string::npos);
  ASSERT_EQ(req.messages.size(), 2u);
  EXPECT_EQ(req.messages[1].content, std::string(136, 'b'));
}

TEST(PromptBuilder, NewestMessageIsKeptEvenOverBudget) {
  ByteCounter counter;
  PromptBuilder b(settings(356, 100), counter);
  auto ch = character();
  ch.mes_example = "<START>example";
  std::vector<store::Message> h{msg("user", "old"), msg("user", std::string(1000, 'z'))};
  PromptReport rep;
  auto req = b.build(input(ch, h), &rep);
  EXPECT_EQ(rep.history_used, 1);
  EXPECT_EQ(rep.history_dropped, 1);
  EXPECT_TRUE(rep.examples_dropped);
  ASSERT_EQ(req.messages.size(), 2u);
  EXPECT_EQ(req.messages[1].content.size(), 1000u);
  EXPECT_EQ(req.messages[0].content.find("Example dialogue"), std::string::npos);
}

TEST(PromptBuilder, PostHistoryInstructionsCountAgainstTheBudget) {
  ByteCounter counter;
  PromptBuilder b(settings(356, 100), counter);  // budget 256
  auto ch = character();
  ch.post_history_instructions = std::string(96, 'p');  // costs 100
  std::vector<store::Message> h;
  for (int i = 0; i < 6; ++i) h.push_back(msg("user", std::string(36, static_cast<char>('a' + i))));
  // 30 + 100 = 130; three messages fit (250).
  PromptReport rep;
  auto req = b.build(input(ch, h), &rep);
  EXPECT_EQ(rep.history_used, 3);
  EXPECT_EQ(req.messages.back().content, std::string(96, 'p'));
}

TEST(PromptBuilder, BudgetHasAFloor) {
  ByteCounter counter;
  // context smaller than the reply size: the budget is still 256.
  PromptBuilder b(settings(100, 300), counter);
  auto ch = character();
  std::vector<store::Message> h;
  for (int i = 0; i < 10; ++i) h.push_back(msg("user", std::string(36, 'q')));
  PromptReport rep;
  (void)b.build(input(ch, h), &rep);
  EXPECT_EQ(rep.history_used, 5);
}

TEST(PromptBuilder, EmptyHistory) {
  ByteCounter counter;
  PromptBuilder b(settings(), counter);
  auto ch = character();
  ch.mes_example = "<START>x";
  ch.post_history_instructions = "Be brief.";
  PromptReport rep;
  auto req = b.build(input(ch), &rep);
  EXPECT_EQ(rep.history_used, 0);
  EXPECT_EQ(rep.history_dropped, 0);
  ASSERT_EQ(req.messages.size(), 2u);
  EXPECT_EQ(req.messages[1].content, "Be brief.");
}

TEST(PromptBuilder, WorksWithTheEstimateCounter) {
  EstimateTokenCounter counter;
  PromptBuilder b(settings(), counter);
  auto ch = character();
  ch.description = "A keeper.";
  PromptReport rep;
  auto req = b.build(input(ch, {msg("user", "Hello there")}), &rep);
  EXPECT_EQ(rep.history_used, 1);
  EXPECT_GT(rep.prompt_tokens, 0);
  EXPECT_EQ(req.messages.size(), 2u);
}

TEST(PromptBuilder, APrefixMadeEarlierGivesTheSamePromptAndReport) {
  // Every card section, a persona, examples and post-history instructions, at budgets from
  // everything fitting down to the floor: a prompt built with prefix() made beforehand is the
  // prompt built without it.
  ByteCounter counter;
  auto ch = character();
  ch.system_prompt = "{{original}} Stay as {{char}}.";
  ch.description = "  <bot> maps coasts for {{user}}.  ";
  ch.personality = "patient";
  ch.scenario = "A harbour at dusk.";
  ch.mes_example = "<START>\n{{user}}: Where?\n{{char}}: North.\n<START>\n{{char}}: Look.";
  ch.post_history_instructions = "Answer as {{char}} only.";
  store::Persona persona;
  persona.name = "Sam";
  persona.description = "A sailor who trusts <bot>.";
  std::vector<store::Message> history;
  for (int i = 0; i < 12; ++i) {
    history.push_back(msg(i % 2 ? "assistant" : "user", "line " + std::to_string(i) + " of the talk", i + 1));
  }
  for (int context : {8192, 700, 420, 330, 300}) {
    PromptBuilder b(settings(context, 50), counter);
    auto in = input(ch, history);
    in.persona = &persona;
    in.memory_reserve = 40;
    in.memories = {{"user", "Sam owns a red boat."}, {"assistant", "Aria drew the bay."}};
    PromptReport plain_report, fixed_report;
    auto plain = b.build(in, &plain_report);
    const PromptPrefix made = b.prefix(ch, &persona, in.user_name);
    in.prefix = &made;
    auto fixed = b.build(in, &fixed_report);
    ASSERT_EQ(plain.messages.size(), fixed.messages.size()) << context;
    for (std::size_t i = 0; i < plain.messages.size(); ++i) {
      EXPECT_EQ(plain.messages[i].role, fixed.messages[i].role) << context << " " << i;
      EXPECT_EQ(plain.messages[i].content, fixed.messages[i].content) << context << " " << i;
    }
    EXPECT_EQ(plain_report.prompt_tokens, fixed_report.prompt_tokens) << context;
    EXPECT_EQ(plain_report.history_used, fixed_report.history_used) << context;
    EXPECT_EQ(plain_report.examples_dropped, fixed_report.examples_dropped) << context;
    EXPECT_EQ(plain_report.memories_used, fixed_report.memories_used) << context;
    EXPECT_EQ(made.user_name, "Sam");
    EXPECT_EQ(made.examples.size(), 2u);
    EXPECT_EQ(made.system_cost, b.message_cost(made.system));
  }
}

}  // namespace
}  // namespace troupe::chat
