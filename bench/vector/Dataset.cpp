#include "Dataset.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <stdexcept>
#include <utility>

namespace troupe::vbench {
namespace {

void normalise(float* x, int dims) {
  double s = 0;
  for (int i = 0; i < dims; ++i) s += double(x[i]) * x[i];
  const float inv = s > 0 ? float(1.0 / std::sqrt(s)) : 0.f;
  for (int i = 0; i < dims; ++i) x[i] *= inv;
}

// Writes/reads a flat vector of T with a small header (element count).
template <class T>
bool read_cache(const std::string& path, std::vector<T>& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::uint64_t count = 0;
  if (!f.read(reinterpret_cast<char*>(&count), sizeof count)) return false;
  out.resize(count);
  return bool(f.read(reinterpret_cast<char*>(out.data()), std::streamsize(count * sizeof(T))));
}

template <class T>
void write_cache(const std::string& path, const std::vector<T>& v) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    const std::uint64_t count = v.size();
    f.write(reinterpret_cast<const char*>(&count), sizeof count);
    f.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(T)));
    if (!f) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

// Minimal reader for the package's JSON: {"...": ..., "vectors": {"word": [d0..dN, norm, index],
// ...}}. Returns the first `dims` numbers of every word's array, in file order.
std::vector<float> parse_glove_json(const std::string& path, int dims) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::size_t p = s.find("\"vectors\"");
  if (p == std::string::npos) throw std::runtime_error("no \"vectors\" in " + path);
  p = s.find('{', p);
  std::vector<float> out;
  const char* c = s.c_str() + p + 1;
  const char* end = s.c_str() + s.size();
  auto skip_ws = [&] { while (c < end && (*c == ' ' || *c == '\n' || *c == '\r' || *c == '\t' || *c == ',')) ++c; };
  std::vector<float> vals;
  for (;;) {
    skip_ws();
    if (c >= end || *c == '}') break;
    if (*c != '"') throw std::runtime_error("unexpected JSON near byte " + std::to_string(c - s.c_str()));
    for (++c; c < end && *c != '"'; ++c)
      if (*c == '\\') ++c;
    ++c;  // closing quote
    while (c < end && *c != '[') ++c;
    ++c;
    vals.clear();
    while (c < end && *c != ']') {
      skip_ws();
      char* next = nullptr;
      vals.push_back(std::strtof(c, &next));
      if (next == c) throw std::runtime_error("bad number in " + path);
      c = next;
      skip_ws();
    }
    ++c;  // ']'
    if (vals.size() < std::size_t(dims)) throw std::runtime_error("short vector in " + path);
    out.insert(out.end(), vals.begin(), vals.begin() + dims);
  }
  return out;
}

}  // namespace

Dataset make_clustered(std::size_t n, int dims, std::size_t nq, std::uint64_t seed) {
  Dataset d;
  d.name = "clustered-" + std::to_string(n) + "x" + std::to_string(dims) + "-s" + std::to_string(seed);
  d.dims = dims;
  d.n = n;
  d.nq = nq;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  const std::size_t nc = std::max<std::size_t>(10, n / 100);
  std::vector<float> centres(nc * dims);
  for (std::size_t c = 0; c < nc; ++c) {
    for (int j = 0; j < dims; ++j) centres[c * dims + j] = g(rng);
    normalise(&centres[c * dims], dims);
  }
  const float spread = 0.7f / std::sqrt(float(dims));
  auto draw = [&](float* x) {
    const std::size_t c = std::uniform_int_distribution<std::size_t>(0, nc - 1)(rng);
    for (int j = 0; j < dims; ++j) x[j] = centres[c * dims + j] + spread * g(rng);
    normalise(x, dims);
  };
  d.base.resize(n * dims);
  for (std::size_t i = 0; i < n; ++i) draw(&d.base[i * dims]);
  d.queries.resize(nq * dims);
  for (std::size_t i = 0; i < nq; ++i) draw(&d.queries[i * dims]);
  return d;
}

Dataset load_glove(const std::string& json_path, const std::string& cache_dir, std::size_t n,
                   std::size_t nq, std::uint64_t seed) {
  constexpr int dims = 100;
  const std::string cache = cache_dir + "/glove-100d-words.f32";
  std::vector<float> all;
  if (!read_cache(cache, all)) {
    std::fprintf(stderr, "parsing %s (once; cached in %s)\n", json_path.c_str(), cache.c_str());
    all = parse_glove_json(json_path, dims);
    write_cache(cache, all);
  }
  const std::size_t words = all.size() / dims;
  std::vector<std::size_t> order(words);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  if (nq >= words) throw std::runtime_error("too many GloVe queries");
  if (n == 0 || n > words - nq) n = words - nq;
  Dataset d;
  d.name = "glove-100-" + std::to_string(n) + "-s" + std::to_string(seed);
  d.dims = dims;
  d.n = n;
  d.nq = nq;
  d.queries.resize(nq * dims);
  d.base.resize(n * dims);
  for (std::size_t i = 0; i < nq + n; ++i) {
    float* dst = i < nq ? &d.queries[i * dims] : &d.base[(i - nq) * dims];
    std::copy_n(&all[order[i] * dims], dims, dst);
    normalise(dst, dims);
  }
  return d;
}

void compute_truth(Dataset& d, std::size_t k, const std::string& cache_dir) {
  d.gt_k = k;
  const std::string cache = cache_dir + "/truth-" + d.name + "-q" + std::to_string(d.nq) + "-k" +
                            std::to_string(k) + ".i64";
  if (read_cache(cache, d.truth) && d.truth.size() == d.nq * k) return;
  d.truth.assign(d.nq * k, -1);
  constexpr std::size_t qb = 256, rb = 8192;
  std::vector<float> scores(qb * rb);
  std::vector<std::vector<std::pair<float, std::int64_t>>> top(qb);
  for (std::size_t q0 = 0; q0 < d.nq; q0 += qb) {
    const std::size_t nqb = std::min(qb, d.nq - q0);
    for (auto& t : top) t.clear();
    for (std::size_t r0 = 0; r0 < d.n; r0 += rb) {
      const std::size_t nrb = std::min(rb, d.n - r0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(nqb), int(nrb), d.dims, 1.f,
                  d.query(q0), d.dims, d.row(r0), d.dims, 0.f, scores.data(), int(nrb));
      for (std::size_t i = 0; i < nqb; ++i) {
        auto& t = top[i];
        for (std::size_t j = 0; j < nrb; ++j) t.emplace_back(scores[i * nrb + j], std::int64_t(r0 + j));
        if (t.size() > 4 * k) {
          std::nth_element(t.begin(), t.begin() + k, t.end(), std::greater<>());
          t.resize(k);
        }
      }
    }
    for (std::size_t i = 0; i < nqb; ++i) {
      auto& t = top[i];
      std::sort(t.begin(), t.end(), std::greater<>());
      for (std::size_t j = 0; j < k && j < t.size(); ++j) d.truth[(q0 + i) * k + j] = t[j].second;
    }
  }
  write_cache(cache, d.truth);
}

double recall_at(const Dataset& d, const std::int64_t* labels, std::size_t nq, std::size_t k) {
  std::size_t hit = 0;
  for (std::size_t q = 0; q < nq; ++q) {
    const std::int64_t* t = &d.truth[q * d.gt_k];
    for (std::size_t j = 0; j < k; ++j) {
      const std::int64_t l = labels[q * k + j];
      if (l >= 0 && std::find(t, t + k, l) != t + k) ++hit;
    }
  }
  return nq ? double(hit) / double(nq * k) : 0.0;
}

}  // namespace troupe::vbench
