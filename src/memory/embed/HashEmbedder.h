// HashEmbedder: a deterministic stand-in embedder for tests. Each lower-cased word (runs of
// letters, digits and apostrophes) is hashed into one of `dims` buckets with a hashed sign; the
// row is the L2-normalised sum. Texts sharing words get similar vectors, so retrieval code can be
// tested without the GloVe data. It knows nothing about meaning beyond shared words.
// Thread-safety: immutable after construction; embed() may be called from any thread at once.
#pragma once

#include "memory/Embedder.h"

namespace troupe::memory {

class HashEmbedder final : public Embedder {
 public:
  // dims must be in [1, 65536]; name defaults to "hash-<dims>".
  explicit HashEmbedder(int dims, std::string name = {});

  const EmbedderInfo& info() const override { return info_; }
  Status embed(std::span<const std::string_view> texts, std::span<float> out) override;

 private:
  EmbedderInfo info_;
};

}  // namespace troupe::memory
