#include "app/ProcessMetrics.h"

#include <dirent.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>

// Present when the binary links jemalloc; null otherwise.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace troupe::app {

namespace {

using Samples = std::vector<std::pair<MetricsRegistry::Labels, double>>;

double rss_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

double open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 0;
  int n = 0;
  while (auto* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // minus the directory handle itself
}

double cpu_seconds() {
  FILE* f = std::fopen("/proc/self/stat", "r");
  if (!f) return 0;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');
  if (!p) return 0;
  unsigned long utime = 0, stime = 0;
  // Fields after ")": state(3) ... utime(14) stime(15).
  if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2) return 0;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

Samples jemalloc_stats() {
  Samples out;
  if (!mallctl) return out;
  uint64_t epoch = 1;
  size_t sz = sizeof(epoch);
  mallctl("epoch", &epoch, &sz, &epoch, sz);
  for (const char* what : {"allocated", "active", "resident", "retained", "mapped", "metadata"}) {
    size_t v = 0;
    size_t len = sizeof(v);
    std::string key = std::string("stats.") + what;
    if (mallctl(key.c_str(), &v, &len, nullptr, 0) == 0) out.push_back({{{"kind", what}}, static_cast<double>(v)});
  }
  return out;
}

void trim_allocator() {
  if (mallctl) {
    // MALLCTL_ARENAS_ALL: give every arena's dirty and muzzy pages back to the system.
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
  ::malloc_trim(0);
}

}  // namespace

std::unique_ptr<MemoryBudget> make_memory_budget(const Config& config, MetricsRegistry& metrics) {
  MemoryBudgetOptions o;
  o.limit_bytes = config.server.memory_limit_bytes;
  o.soft_percent = config.server.memory_soft_percent;
  o.hard_percent = 100;
  o.interval = std::chrono::milliseconds(config.server.memory_check_interval_ms);
  auto budget = std::make_unique<MemoryBudget>(o, [] { return static_cast<std::uint64_t>(rss_bytes()); }, &metrics);
  budget->add_trim_hook("allocator", trim_allocator);
  return budget;
}

void register_process_metrics(MetricsRegistry& m, TaskRegistry& tasks) {
  m.collect("process_resident_memory_bytes", "Resident set size.", [] { return Samples{{{}, rss_bytes()}}; });
  m.collect("process_open_fds", "Open file descriptors.", [] { return Samples{{{}, open_fds()}}; });
  m.collect("troupe_process_cpu_seconds", "User+system CPU seconds used by the process.",
            [] { return Samples{{{}, cpu_seconds()}}; });
  m.collect("troupe_jemalloc_bytes", "jemalloc statistics (absent when another allocator is linked).",
            [] { return jemalloc_stats(); });
  m.collect("troupe_tasks_live", "Live tasks by name (the task dump in numbers).", [&tasks] {
    std::map<std::string, double> by;
    for (const auto& t : tasks.snapshot()) by[t.name] += 1;
    Samples out;
    for (auto& [name, n] : by) out.push_back({{{"name", name}}, n});
    return out;
  });
  m.collect("troupe_tasks_past_deadline", "Live tasks past their deadline.", [&tasks] {
    double n = 0;
    for (const auto& t : tasks.snapshot()) n += t.past_deadline ? 1 : 0;
    return Samples{{{}, n}};
  });
}

}  // namespace troupe::app
