#include "memory/embed/GloveEmbedder.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "memory/embed/Tokenizer.h"

namespace troupe::memory {
namespace {

struct Scratch {
  Tokenizer tokenizer;
  std::vector<std::string_view> tokens;
  std::vector<double> acc;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

GloveEmbedder::GloveEmbedder(std::unique_ptr<TvecFile> file) : file_(std::move(file)) {
  info_.name = "glove-6b-100d-sif";
  info_.dims = file_->dims();
  if (info_.dims != 100) info_.name = "glove-" + std::to_string(info_.dims) + "d-sif";
}

Result<std::unique_ptr<GloveEmbedder>> GloveEmbedder::open(const std::string& path) {
  auto f = TvecFile::open(path);
  if (!f.ok()) return f.error();
  return std::unique_ptr<GloveEmbedder>(new GloveEmbedder(std::move(f).value()));
}

Status GloveEmbedder::embed(std::span<const std::string_view> texts, std::span<float> out) {
  const auto dims = static_cast<std::size_t>(info_.dims);
  if (out.size() != texts.size() * dims)
    return make_error(Errc::internal, "embed: output size does not match texts x dims");
  for (std::size_t t = 0; t < texts.size(); ++t) embed_one(texts[t], out.data() + t * dims);
  return {};
}

void GloveEmbedder::embed_one(std::string_view text, float* row) const {
  const auto dims = static_cast<std::size_t>(info_.dims);
  Scratch& s = scratch();
  s.tokenizer.tokenize(text, s.tokens);
  s.acc.assign(dims, 0.0);
  const std::uint32_t vocab_total = file_->vocab_total();
  const float a = file_->sif_a();
  std::size_t known = 0;
  auto add = [&](std::string_view word) {
    const TvecEntry* e = file_->find(word);
    if (!e) return;
    const double w = sif_weight(e->rank, vocab_total, a);
    const float* v = file_->vector(e->row);
    for (std::size_t d = 0; d < dims; ++d) s.acc[d] += w * v[d];
    ++known;
  };
  for (std::string_view tok : s.tokens) {
    if (tok.find('-') == std::string_view::npos || file_->find(tok)) {
      add(tok);
      continue;
    }
    // An unknown compound counts as its parts ("well-meaning" -> "well", "meaning").
    while (!tok.empty()) {
      auto dash = tok.find('-');
      add(tok.substr(0, dash));
      if (dash == std::string_view::npos) break;
      tok.remove_prefix(dash + 1);
    }
  }
  if (known == 0) {
    std::fill(row, row + dims, 0.0f);
    return;
  }
  // Remove the projection on the common component, then normalise (the 1/known of the average
  // cancels out in the normalisation).
  std::span<const float> pc = file_->principal_component();
  double proj = 0;
  for (std::size_t d = 0; d < dims; ++d) proj += s.acc[d] * pc[d];
  double norm = 0;
  for (std::size_t d = 0; d < dims; ++d) {
    s.acc[d] -= proj * pc[d];
    norm += s.acc[d] * s.acc[d];
  }
  if (!(norm > 1e-24)) {
    std::fill(row, row + dims, 0.0f);
    return;
  }
  const double inv = 1.0 / std::sqrt(norm);
  for (std::size_t d = 0; d < dims; ++d) row[d] = static_cast<float>(s.acc[d] * inv);
}

}  // namespace troupe::memory
