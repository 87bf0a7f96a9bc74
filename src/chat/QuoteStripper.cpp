#include "chat/QuoteStripper.h"

#include <cctype>

namespace troupe::chat {

namespace {

struct Word {
  std::size_t begin = 0;  // byte range in the text
  std::size_t end = 0;
  std::string norm;  // lower-case, punctuation removed ("" = punctuation only)
};

std::vector<Word> words_of(std::string_view text) {
  std::vector<Word> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i >= text.size()) break;
    Word w;
    w.begin = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (std::isalnum(c) || c >= 0x80) w.norm += static_cast<char>(std::tolower(c));
      ++i;
    }
    w.end = i;
    out.push_back(std::move(w));
  }
  return out;
}

// Words with something to compare (punctuation-only words are skipped on both sides).
std::vector<std::size_t> comparable(const std::vector<Word>& ws) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < ws.size(); ++i) {
    if (!ws[i].norm.empty()) idx.push_back(i);
  }
  return idx;
}

bool ends_sentence(std::string_view w) {
  return !w.empty() && (w.back() == '.' || w.back() == '!' || w.back() == '?');
}

}  // namespace

std::string QuoteStripper::strip(std::string_view reply, const std::vector<RecalledMemory>& memories) {
  const auto words = words_of(reply);
  const auto r = comparable(words);
  std::vector<bool> cut(words.size(), false);
  std::vector<std::size_t> run_starts;
  for (const auto& m : memories) {
    const auto mw = words_of(m.text);
    const auto mi = comparable(mw);
    if (mi.empty() || r.size() * mi.size() > kMaxComparisons) continue;
    for (std::size_t a = 0; a < r.size(); ++a) {
      std::size_t best = 0;
      for (std::size_t b = 0; b < mi.size(); ++b) {
        std::size_t k = 0;
        while (a + k < r.size() && b + k < mi.size() && words[r[a + k]].norm == mw[mi[b + k]].norm) ++k;
        if (k > best) best = k;
      }
      const bool whole = best == mi.size() && best >= kMinWholeWords;
      if (best < kMinQuoteWords && !whole) continue;
      for (std::size_t k = 0; k < best; ++k) cut[r[a + k]] = true;
      // Punctuation-only words inside the run go with it.
      for (std::size_t w = r[a]; w <= r[a + best - 1]; ++w) cut[w] = true;
      run_starts.push_back(r[a]);
      a += best - 1;
    }
  }
  // A lead-in that introduces a quote ("I remember you said:") goes with it.
  for (std::size_t s : run_starts) {
    if (s == 0 || cut[s - 1]) continue;
    std::string_view prev = reply.substr(words[s - 1].begin, words[s - 1].end - words[s - 1].begin);
    if (prev.empty() || prev.back() != ':') continue;
    std::size_t from = s - 1;
    std::size_t n = 1;
    while (from > 0 && n < kMaxLeadInWords) {
      std::string_view w = reply.substr(words[from - 1].begin, words[from - 1].end - words[from - 1].begin);
      if (ends_sentence(w) || cut[from - 1]) break;
      --from;
      ++n;
    }
    const bool at_sentence_start =
        from == 0 || cut[from - 1] ||
        ends_sentence(reply.substr(words[from - 1].begin, words[from - 1].end - words[from - 1].begin));
    if (!at_sentence_start) continue;
    for (std::size_t w = from; w < s; ++w) cut[w] = true;
  }
  std::string out;
  bool own = false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (cut[i]) continue;
    if (!out.empty()) out += ' ';
    out.append(reply.substr(words[i].begin, words[i].end - words[i].begin));
    if (!words[i].norm.empty()) own = true;
  }
  return own ? out : std::string();
}

}  // namespace troupe::chat
