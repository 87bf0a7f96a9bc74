// GloveEmbedder: sentence vectors from memory-mapped GloVe word vectors (a .tvec file written by
// troupe_glove_convert / scripts/prepare-glove). A sentence is tokenized (Tokenizer), each known
// word is weighted by SIF a / (a + p(w)) with p(w) estimated from its frequency rank (Zipf), the
// weighted vectors are averaged, the common component stored in the file is projected out and the
// result is L2-normalised. Unknown words are skipped; a text without known words is a zero row.
// See src/memory/embed/README.md for what this cannot capture.
// Thread-safety: immutable after open(); embed() may run on several threads at once (per-thread
// scratch buffers, no heap allocation per word).
#pragma once

#include <memory>
#include <string>

#include "memory/Embedder.h"
#include "memory/embed/TvecFile.h"

namespace troupe::memory {

class GloveEmbedder final : public Embedder {
 public:
  // Maps and validates the file; a missing or corrupt file is an Error.
  static Result<std::unique_ptr<GloveEmbedder>> open(const std::string& path);

  const EmbedderInfo& info() const override { return info_; }
  Status embed(std::span<const std::string_view> texts, std::span<float> out) override;

  // Words in the vocabulary, and whether one (an already tokenized, lower-case word) is known.
  std::size_t vocabulary_size() const { return file_->size(); }
  bool knows(std::string_view word) const { return file_->find(word) != nullptr; }

 private:
  explicit GloveEmbedder(std::unique_ptr<TvecFile> file);
  void embed_one(std::string_view text, float* row) const;

  std::unique_ptr<TvecFile> file_;
  EmbedderInfo info_;
};

}  // namespace troupe::memory
