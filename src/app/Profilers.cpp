#include "app/Profilers.h"

#include <gperftools/profiler.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));
extern "C" void malloc_stats_print(void (*write_cb)(void*, const char*), void* cbopaque, const char* opts)
    __attribute__((weak));

namespace troupe::app {

namespace {

Result<std::string> heap_report() {
  if (!mallctl || !malloc_stats_print) {
    return make_error(Errc::unavailable, "heap reports need the jemalloc build (preset release)");
  }
  // A real heap profile when the process runs with MALLOC_CONF=prof:true.
  bool prof = false;
  size_t len = sizeof(prof);
  if (mallctl("opt.prof", &prof, &len, nullptr, 0) == 0 && prof) {
    auto path = (std::filesystem::temp_directory_path() / ("troupe-heap-" + std::to_string(::getpid()) + ".heap")).string();
    const char* p = path.c_str();
    if (mallctl("prof.dump", nullptr, nullptr, &p, sizeof(p)) == 0) {
      std::ifstream f(path, std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      std::error_code ec;
      std::filesystem::remove(path, ec);
      return ss.str();
    }
  }
  std::string out;
  malloc_stats_print([](void* o, const char* s) { static_cast<std::string*>(o)->append(s); }, &out, nullptr);
  return out;
}

}  // namespace

api::Profilers make_profilers() {
  api::Profilers p;
  p.cpu_start = [](const std::string& path) { return ProfilerStart(path.c_str()) != 0; };
  p.cpu_stop = [] {
    ProfilerFlush();
    ProfilerStop();
  };
  p.heap = [] { return heap_report(); };
  return p;
}

}  // namespace troupe::app
