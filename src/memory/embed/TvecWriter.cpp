#include "memory/embed/TvecWriter.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>

#include "memory/embed/TvecFormat.h"

namespace troupe::memory {
namespace {

std::uint64_t align8(std::uint64_t v) { return (v + 7) & ~std::uint64_t(7); }

}  // namespace

TvecWriter::TvecWriter(TvecWriterOptions opts) : opts_(opts) {}

Status TvecWriter::add(std::string_view word, std::uint32_t rank, std::span<const float> vec) {
  if (opts_.dims < 1 || opts_.dims > int(kTvecMaxDims)) return make_error(Errc::bad_request, "bad dims");
  if (word.empty() || word.size() > kTvecMaxWordBytes)
    return make_error(Errc::bad_request, "word length must be 1..255 bytes");
  if (vec.size() != std::size_t(opts_.dims))
    return make_error(Errc::bad_request, "vector for '" + std::string(word) + "' has wrong dims");
  if (rank < 1) return make_error(Errc::bad_request, "rank must be >= 1");
  if (words_.size() >= kTvecMaxWords) return make_error(Errc::too_large, "too many words");
  for (float v : vec)
    if (!std::isfinite(v)) return make_error(Errc::bad_request, "non-finite value for " + std::string(word));
  words_.emplace_back(word);
  ranks_.push_back(rank);
  vectors_.insert(vectors_.end(), vec.begin(), vec.end());
  return {};
}

void TvecWriter::compute_principal_component(std::uint32_t vocab_total) {
  const std::size_t dims = opts_.dims, n = words_.size();
  // Zipf sampling over the stored words: P(word) proportional to 1 / rank.
  std::vector<double> cdf(n);
  double acc = 0;
  for (std::size_t i = 0; i < n; ++i) cdf[i] = acc += 1.0 / ranks_[i];
  std::vector<float> weight(n);
  for (std::size_t i = 0; i < n; ++i) weight[i] = sif_weight(ranks_[i], vocab_total, opts_.sif_a);

  std::mt19937_64 rng(opts_.seed);
  std::uniform_real_distribution<double> uni(0.0, acc);
  std::vector<double> cov(dims * dims, 0.0), sent(dims);
  for (int s = 0; s < opts_.reference_sentences; ++s) {
    std::fill(sent.begin(), sent.end(), 0.0);
    for (int w = 0; w < opts_.reference_words; ++w) {
      std::size_t i = std::lower_bound(cdf.begin(), cdf.end(), uni(rng)) - cdf.begin();
      if (i >= n) i = n - 1;
      const float* v = &vectors_[i * dims];
      for (std::size_t d = 0; d < dims; ++d) sent[d] += double(weight[i]) * v[d];
    }
    for (std::size_t a = 0; a < dims; ++a) {
      double sa = sent[a];
      for (std::size_t b = a; b < dims; ++b) cov[a * dims + b] += sa * sent[b];
    }
  }
  for (std::size_t a = 0; a < dims; ++a)
    for (std::size_t b = 0; b < a; ++b) cov[a * dims + b] = cov[b * dims + a];

  // Power iteration on the (uncentred) second-moment matrix: its top eigenvector is the first
  // principal component as SIF defines it.
  std::vector<double> u(dims, 1.0 / std::sqrt(double(dims))), next(dims);
  for (int it = 0; it < 300; ++it) {
    for (std::size_t a = 0; a < dims; ++a)
      next[a] = std::inner_product(u.begin(), u.end(), cov.begin() + a * dims, 0.0);
    double norm = std::sqrt(std::inner_product(next.begin(), next.end(), next.begin(), 0.0));
    if (norm == 0) { std::fill(u.begin(), u.end(), 0.0); break; }
    for (std::size_t a = 0; a < dims; ++a) u[a] = next[a] / norm;
  }
  pc_.assign(u.begin(), u.end());
}

Status TvecWriter::write(const std::string& path) {
  const std::size_t dims = opts_.dims, n = words_.size();
  if (n == 0) return make_error(Errc::bad_request, "no words to write");
  std::uint32_t vocab_total = std::max<std::uint32_t>(opts_.vocab_total, static_cast<std::uint32_t>(n));
  for (auto r : ranks_)
    if (r > vocab_total) return make_error(Errc::bad_request, "rank beyond vocab_total");
  if (!(opts_.sif_a > 0 && opts_.sif_a < 1)) return make_error(Errc::bad_request, "sif_a must be in (0,1)");

  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return words_[a] < words_[b]; });
  for (std::size_t i = 1; i < n; ++i)
    if (words_[order[i]] == words_[order[i - 1]])
      return make_error(Errc::bad_request, "duplicate word '" + words_[order[i]] + "'");

  compute_principal_component(vocab_total);

  TvecHeader h{};
  std::memcpy(h.magic, kTvecMagic, sizeof(kTvecMagic));
  h.version = kTvecVersion;
  h.dims = static_cast<std::uint32_t>(dims);
  h.count = static_cast<std::uint32_t>(n);
  h.vocab_total = vocab_total;
  h.sif_a = opts_.sif_a;
  h.pc_offset = sizeof(TvecHeader);
  h.entries_offset = align8(h.pc_offset + dims * 4);
  std::vector<TvecEntry> entries(n);
  std::string strings;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t w = order[i];
    entries[i] = TvecEntry{static_cast<std::uint32_t>(strings.size()),
                           static_cast<std::uint32_t>(words_[w].size()), ranks_[w], w};
    strings += words_[w];
  }
  h.strings_offset = align8(h.entries_offset + n * sizeof(TvecEntry));
  h.strings_size = strings.size();
  h.vectors_offset = align8(h.strings_offset + strings.size());
  h.file_size = h.vectors_offset + n * dims * 4;

  std::vector<unsigned char> buf(h.file_size, 0);
  std::memcpy(&buf[h.pc_offset], pc_.data(), dims * 4);
  std::memcpy(&buf[h.entries_offset], entries.data(), n * sizeof(TvecEntry));
  std::memcpy(&buf[h.strings_offset], strings.data(), strings.size());
  std::memcpy(&buf[h.vectors_offset], vectors_.data(), n * dims * 4);
  std::memcpy(buf.data(), &h, sizeof(h));
  h.checksum = tvec_file_checksum(buf.data(), buf.size());
  std::memcpy(buf.data(), &h, sizeof(h));

  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return make_error(Errc::internal, "cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = std::fwrite(buf.data(), 1, buf.size(), f) == buf.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return make_error(Errc::internal, "cannot write " + path);
  }
  return {};
}

}  // namespace troupe::memory
