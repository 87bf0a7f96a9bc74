// Embedder: turns texts into unit-length vectors for memory retrieval.
// Implementations: GloveEmbedder (default, memory-mapped GloVe 6B 100-d, SIF weighting) and
// OpenAiEmbedder (any OpenAI-compatible /v1/embeddings endpoint).
// Thread-safety: embed() may be called from several compute-pool threads at once; it blocks
// (CPU or network), so never call it on an I/O thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/Result.h"

namespace troupe::memory {

struct EmbedderInfo {
  std::string name;  // identifies model + weighting, e.g. "glove-6b-100d-sif"; stored with indexes
  int dims = 0;
};

class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual const EmbedderInfo& info() const = 0;
  // Writes texts.size() rows of info().dims floats into `out` (row-major), each L2-normalised;
  // a text with no known words yields a zero row. `out.size()` must be texts.size() * dims.
  virtual Status embed(std::span<const std::string_view> texts, std::span<float> out) = 0;
};

}  // namespace troupe::memory
