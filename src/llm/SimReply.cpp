#include "llm/SimReply.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

namespace troupe::llm {

namespace {

// Reply sentences; {char}, {user}, {echo} and {scene} are filled from the request.
constexpr std::array<std::string_view, 12> kTemplates = {
    "*{char} tilts their head, weighing your words.*",
    "\"{echo}? You really want to talk about {echo}?\"",
    "Here, where {scene} shapes everything, nothing stays simple for long.",
    "\"{user}, you always bring me the strangest questions.\"",
    "*A quiet smile crosses {char}'s face.*",
    "\"I keep thinking about {scene}, and about what you said: {echo}.\"",
    "\"Very well. Let us speak of {echo}, then.\"",
    "*{char} glances toward the {scene}, then back at you.*",
    "\"Stay a while longer. There is more to tell.\"",
    "\"If {echo} matters to you, it matters to me too.\"",
    "*{char} leans closer, voice low.*",
    "\"Nobody here talks about {scene} without a reason, {user}.\"",
};

constexpr std::array<std::string_view, 14> kStopWords = {
    "about", "after", "their",  "there", "these", "those", "which",
    "while", "would", "should", "could", "write", "reply", "between"};

// Folds `s` into the prompt's fingerprint (the reply's seed): eight bytes per step with a
// multiply and a shift, the tail byte by byte. It only has to spread, not to resist anyone, and
// it runs over the whole prompt every turn.
std::uint64_t fold(std::uint64_t h, std::string_view s) {
  constexpr std::uint64_t kMul = 0x9e3779b97f4a7c15ull;
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * kMul;
    h ^= h >> 29;
  }
  for (; i < s.size(); ++i) h = (h ^ static_cast<unsigned char>(s[i])) * 1099511628211ull;
  return h;
}

std::string first_word(std::string_view s, std::string_view fallback) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return std::string(fallback);
  const auto e = s.find_first_of(" \t\r\n", b);
  return std::string(s.substr(b, e == std::string_view::npos ? s.npos : e - b));
}

bool word_char(unsigned char c) { return std::isalnum(c) || c >= 0x80 || c == '\''; }

// Words of at least `min_len` bytes, stripped of surrounding punctuation, without markers like
// [sim:fail] or {{macros}}, first occurrence only, at most `cap`.
std::vector<std::string> pick_words(std::string_view text, std::size_t min_len, std::size_t cap,
                                    bool skip_stop_words) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size() && out.size() < cap) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    std::string_view raw = text.substr(i, j - i);
    i = j;
    if (raw.find('[') != raw.npos || raw.find('{') != raw.npos) continue;
    while (!raw.empty() && !word_char(raw.front())) raw.remove_prefix(1);
    while (!raw.empty() && !word_char(raw.back())) raw.remove_suffix(1);
    if (raw.size() < min_len) continue;
    std::string w(raw);
    std::string lower = w;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (skip_stop_words &&
        std::find(kStopWords.begin(), kStopWords.end(), lower) != kStopWords.end()) {
      continue;
    }
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(std::move(w));
  }
  return out;
}

// Header of the prompt's memories section (written by the chat prompt builder).
constexpr std::string_view kMemoriesHeader = "[Memories of earlier conversations]";

// Opening words quoting the user's first recalled memory (else the first memory), or none.
std::vector<std::string> recall_words(const Request& request) {
  std::vector<std::string> lines;
  for (const auto& m : request.messages) {
    if (m.role != "system") continue;
    auto at = m.content.find(kMemoriesHeader);
    if (at == std::string::npos) continue;
    std::string_view rest = std::string_view(m.content).substr(at + kMemoriesHeader.size());
    while (!rest.empty()) {
      auto nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
      if (line.empty() && !lines.empty()) break;  // end of the section
      if (line.starts_with("- ")) lines.emplace_back(line.substr(2));
    }
    break;
  }
  if (lines.empty()) return {};
  const std::string mine = request.user_name + ": ";
  std::string pick = lines.front();
  std::string intro = "I remember:";
  for (auto& l : lines) {
    if (l.starts_with(mine)) {
      pick = l.substr(mine.size());
      intro = "I remember you said:";
      break;
    }
  }
  std::vector<std::string> words;
  std::string text = intro + " " + pick;
  std::size_t i = 0;
  while (i < text.size() && words.size() < 48) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) words.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

}  // namespace

SimReply::SimReply(const Request& request) {
  std::uint64_t h = 14695981039346656037ull;
  const ChatMessage* last_user = nullptr;
  std::string_view scenario;
  for (const auto& m : request.messages) {
    h = fold(fold(fold(h, m.role), "\x1f"), m.content);
    h = fold(h, "\x1e");
    if (m.role == "user") last_user = &m;
    if (m.role == "system" && scenario.empty()) scenario = m.content;
  }
  h = fold(fold(fold(h, request.char_name), "\x1f"), request.continue_from);
  rng_ = h | 1;
  char_name_ = first_word(request.char_name, "I");
  user_name_ = first_word(request.user_name, "friend");
  if (last_user) {
    fail_ = last_user->content.find("[sim:fail]") != std::string::npos;
    slow_ = last_user->content.find("[sim:slow]") != std::string::npos;
    echo_ = pick_words(last_user->content, 3, 8, false);
  }
  if (const auto at = scenario.find("Scenario:"); at != std::string_view::npos) {
    scene_ = pick_words(scenario.substr(at + 9), 5, 16, true);
  }
  if (scene_.empty()) scene_ = pick_words(scenario, 5, 16, true);
  std::erase(scene_, char_name_);
  if (echo_.empty()) echo_.push_back("that");
  if (scene_.empty()) scene_.push_back("crossroads");
  first_ = request.continue_from.empty() ||
           std::isspace(static_cast<unsigned char>(request.continue_from.back()));
  token_.reserve(64);
  // Recall answers questions: only a question opens with a quoted memory.
  if (request.continue_from.empty() && last_user &&
      last_user->content.find('?') != std::string::npos) {
    recall_ = recall_words(request);
  }
}

std::uint64_t SimReply::random() {
  // xorshift64*
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return rng_ * 2685821657736338717ull;
}

void SimReply::start_sentence() {
  std::size_t idx = random() % kTemplates.size();
  if (idx == last_template_) idx = (idx + 1) % kTemplates.size();
  last_template_ = idx;
  sentence_ = kTemplates[idx];
}

void SimReply::substitute(std::string_view word) {
  while (!word.empty()) {
    const auto open = word.find('{');
    const auto close = open == word.npos ? word.npos : word.find('}', open);
    if (close == word.npos) {
      token_.append(word);
      return;
    }
    token_.append(word.substr(0, open));
    const auto name = word.substr(open + 1, close - open - 1);
    if (name == "char") {
      token_.append(char_name_);
    } else if (name == "user") {
      token_.append(user_name_);
    } else if (name == "echo") {
      token_.append(echo_[random() % echo_.size()]);
    } else {
      token_.append(scene_[random() % scene_.size()]);
    }
    word.remove_prefix(close + 1);
  }
}

std::string_view SimReply::next() {
  if (recall_at_ < recall_.size()) {
    token_.clear();
    if (!first_) token_.push_back(' ');
    first_ = false;
    token_.append(recall_[recall_at_++]);
    return token_;
  }
  if (sentence_.empty()) start_sentence();
  const auto end = sentence_.find(' ');
  const std::string_view word = sentence_.substr(0, end);
  sentence_.remove_prefix(end == sentence_.npos ? sentence_.size() : end + 1);
  token_.clear();
  if (!first_) token_.push_back(' ');
  first_ = false;
  substitute(word);
  return token_;
}

}  // namespace troupe::llm
