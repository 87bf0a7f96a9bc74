// Tokenizer: splits English text into the tokens GloVe 6B was trained on (lower-case, Stanford
// style). ASCII letters are lower-cased; punctuation separates tokens and is dropped; a hyphen
// between word characters stays inside the token ("e-mail"; the embedder falls back to the
// parts when the compound is unknown); the clitics 's 're 've 'll 'd 'm and n't become their own tokens ("don't" ->
// "do" "n't", "she's" -> "she" "'s"); other inner apostrophes stay ("o'clock"); quotes around a
// word are dropped; numbers keep inner '.' and ',' between digits ("3.5", "1,000"); the curly
// apostrophe U+2019 counts as '. Other non-ASCII bytes are kept as word characters, unchanged.
// Thread-safety: not thread-safe (it reuses its buffers); use one instance per thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace troupe::memory {

class Tokenizer {
 public:
  // At most this many bytes of a text are read; the rest is ignored.
  static constexpr std::size_t kMaxTextBytes = 1 << 20;

  // Replaces `out` with the tokens of `text`. The views point into this tokenizer's buffer and
  // stay valid until the next call. After warm-up no heap allocation happens per call.
  void tokenize(std::string_view text, std::vector<std::string_view>& out);

 private:
  std::string buf_;
};

}  // namespace troupe::memory
