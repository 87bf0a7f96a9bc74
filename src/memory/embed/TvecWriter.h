// TvecWriter: builds a .tvec word-vector file (see TvecFormat.h) from words, their frequency
// ranks and vectors. write() computes the SIF common component: it embeds a fixed-seed reference
// sample of pseudo-sentences (words drawn with Zipf probabilities from the ranks), takes the first
// principal component of those sentence vectors, and stores it so readers remove it per sentence.
// The file is written to "<path>.tmp" and renamed, so readers never see a half-written file.
// Thread-safety: not thread-safe; one thread builds one file.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/Result.h"

namespace troupe::memory {

struct TvecWriterOptions {
  int dims = 100;
  std::uint32_t vocab_total = 0;   // source vocabulary size; 0 = the number of words added
  float sif_a = 1e-4f;             // smaller = frequent words count less
  int reference_sentences = 20000; // pseudo-sentences for the principal component
  int reference_words = 12;        // words per pseudo-sentence
  std::uint64_t seed = 20141025;
};

class TvecWriter {
 public:
  explicit TvecWriter(TvecWriterOptions opts);

  // Adds one word (exact bytes, 1..255 of them) with its 1-based frequency rank.
  Status add(std::string_view word, std::uint32_t rank, std::span<const float> vec);
  std::size_t size() const { return words_.size(); }

  // Validates (unique words, finite values), computes the component and writes the file.
  Status write(const std::string& path);

  // The component computed by the last write() (for tests and logs).
  const std::vector<float>& principal_component() const { return pc_; }

 private:
  void compute_principal_component(std::uint32_t vocab_total);

  TvecWriterOptions opts_;
  std::vector<std::string> words_;
  std::vector<std::uint32_t> ranks_;
  std::vector<float> vectors_;
  std::vector<float> pc_;
};

}  // namespace troupe::memory
