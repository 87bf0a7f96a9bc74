// What the machine itself allows, before any server code runs: how late a sleeping thread wakes,
// how long the CPUs are taken away from a thread that never sleeps, how long a wake-up takes from
// one CPU to another, and how long one durable append takes on the data directory's disk; and,
// from those appends, what a durable turn's wait cannot go below at a given rate.
// docs/BENCHMARKS.md (section 1, "the platform's floor") compares the server's event-loop lag and
// turn latency with these figures, measured on the same machine in the same session.
//
// Usage: troupe_platform_floor [--seconds S] [--dir DIR] [--rate R] [--json]
//   --seconds S  length of each of the four measurements (default 10)
//   --dir DIR    where the durable appends go (default: the current directory); use the
//                filesystem that holds the server's data directory
//   --rate R     turns/s for the group-commit model fed with the measured appends (default 2000)
//   --json       also print one JSON line with every figure
// Run it on an otherwise idle machine: anything else running adds to the figures.
// Linux only (CPU affinity, eventfd); one thread per CPU, every measurement bounded in time.
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

void pin_to(unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

struct Dist {
  double p50 = 0, p99 = 0, p999 = 0, max = 0;  // milliseconds
  std::size_t n = 0;
};

Dist dist_of(std::vector<std::int64_t> ns) {
  Dist d;
  d.n = ns.size();
  if (ns.empty()) return d;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) { return static_cast<double>(ns[static_cast<std::size_t>(q * double(ns.size() - 1))]) / 1e6; };
  d.p50 = at(0.5);
  d.p99 = at(0.99);
  d.p999 = at(0.999);
  d.max = static_cast<double>(ns.back()) / 1e6;
  return d;
}

void print_dist(const char* what, const Dist& d) {
  std::printf("  %-34s n %7zu  p50 %7.3f  p99 %7.3f  p99.9 %7.3f  max %7.3f ms\n", what, d.n, d.p50, d.p99,
              d.p999, d.max);
}

std::string dist_json(const Dist& d) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "{\"n\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}", d.n,
                d.p50, d.p99, d.p999, d.max);
  return buf;
}

// 1. A thread per CPU sleeps to a deadline every 10 ms (the server's lag monitor's period) and
//    records how late it woke.
Dist timer_lateness(unsigned cpus, double seconds) {
  std::vector<std::vector<std::int64_t>> late(cpus);
  std::vector<std::thread> threads;
  for (unsigned c = 0; c < cpus; ++c) {
    threads.emplace_back([&, c] {
      pin_to(c);
      const auto end = Clock::now() + std::chrono::duration<double>(seconds);
      // As the lag monitor does: each deadline is one period after the previous wake-up.
      for (auto due = Clock::now() + std::chrono::milliseconds(10); due < end;
           due = Clock::now() + std::chrono::milliseconds(10)) {
        std::this_thread::sleep_until(due);
        late[c].push_back(std::max<std::int64_t>(0, (Clock::now() - due).count()));
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::int64_t> all;
  for (auto& v : late) all.insert(all.end(), v.begin(), v.end());
  return dist_of(std::move(all));
}

// 2. A thread per CPU that never sleeps reads the clock in a loop; a jump of more than 50 µs
//    between two reads is time the CPU was given to something else (the hypervisor or another
//    task). `beyond_1ms` is the share of time that lies more than 1 ms into such a gap: the chance
//    that a wake-up due at a random moment is more than 1 ms late whatever the program does.
struct Gaps {
  std::size_t over_50us = 0, over_1ms = 0, over_5ms = 0;
  double lost = 0, beyond_1ms = 0, max_ms = 0;
  double steal = -1;  // share of the CPUs' time the kernel counted as stolen, if known
};

// The kernel's own count of time the hypervisor gave this machine's CPUs to something else
// (the "steal" column of /proc/stat), in clock ticks summed over the CPUs; -1 if unreadable.
long long steal_ticks() {
  FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return -1;
  long long v[8] = {0};
  const int got = std::fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4],
                              &v[5], &v[6], &v[7]);
  std::fclose(f);
  return got == 8 ? v[7] : -1;
}

Gaps cpu_gaps(unsigned cpus, double seconds) {
  std::vector<Gaps> per(cpus);
  std::vector<std::thread> threads;
  const std::int64_t span = static_cast<std::int64_t>(seconds * 1e9);
  const long long steal_before = steal_ticks();
  for (unsigned c = 0; c < cpus; ++c) {
    threads.emplace_back([&, c] {
      pin_to(c);
      Gaps& g = per[c];
      std::int64_t lost = 0, beyond = 0, max = 0;
      const std::int64_t start = now_ns();
      std::int64_t last = start;
      while (last - start < span) {
        const std::int64_t t = now_ns();
        const std::int64_t gap = t - last;
        last = t;
        if (gap <= 50'000) continue;
        ++g.over_50us;
        lost += gap;
        max = std::max(max, gap);
        if (gap > 1'000'000) ++g.over_1ms, beyond += gap - 1'000'000;
        if (gap > 5'000'000) ++g.over_5ms;
      }
      g.lost = double(lost) / double(span);
      g.beyond_1ms = double(beyond) / double(span);
      g.max_ms = double(max) / 1e6;
    });
  }
  for (auto& t : threads) t.join();
  Gaps sum;
  const long long steal_after = steal_ticks();
  if (steal_before >= 0 && steal_after >= steal_before) {
    sum.steal = double(steal_after - steal_before) / double(sysconf(_SC_CLK_TCK)) / seconds / cpus;
  }
  for (const auto& g : per) {
    sum.over_50us += g.over_50us;
    sum.over_1ms += g.over_1ms;
    sum.over_5ms += g.over_5ms;
    sum.lost += g.lost / cpus;
    sum.beyond_1ms += g.beyond_1ms / cpus;
    sum.max_ms = std::max(sum.max_ms, g.max_ms);
  }
  return sum;
}

// 3. One thread wakes another on the other CPU through an eventfd (how the server's threads wake
//    an I/O thread), once per millisecond so the woken CPU is idle in between, as at light load.
Dist cross_cpu_wakeup(unsigned cpus, double seconds) {
  const int fd = eventfd(0, 0);
  if (fd < 0) return {};
  std::atomic<std::int64_t> sent_at{0};
  std::atomic<bool> done{false};
  std::vector<std::int64_t> lat;
  std::thread receiver([&] {
    pin_to(cpus > 1 ? 1 : 0);
    std::uint64_t v;
    while (read(fd, &v, sizeof v) == sizeof v) {
      if (done.load()) break;
      lat.push_back(now_ns() - sent_at.load());
    }
  });
  pin_to(0);
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  const std::uint64_t one = 1;
  while (Clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    sent_at.store(now_ns());
    if (write(fd, &one, sizeof one) != sizeof one) break;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  done.store(true);
  if (write(fd, &one, sizeof one) != sizeof one) std::perror("eventfd");
  receiver.join();
  close(fd);
  return dist_of(std::move(lat));
}

// 4. 4 KiB appended and made durable (fdatasync) every 2 ms: one commit's floor on this disk.
//    The durations (ns) are left in `out` for the group-commit model.
Dist durable_append(const std::string& dir, double seconds, std::vector<std::int64_t>& out) {
  std::string path = dir + "/troupe-floor-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    std::perror("mkstemp");
    return {};
  }
  unlink(path.c_str());
  std::vector<char> block(4096, 'x');
  std::vector<std::int64_t> lat;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const std::int64_t t = now_ns();
    if (write(fd, block.data(), block.size()) != ssize_t(block.size()) || fdatasync(fd) != 0) {
      std::perror("append");
      break;
    }
    lat.push_back(now_ns() - t);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  close(fd);
  out = lat;
  return dist_of(std::move(lat));
}

// 5. A model, not a measurement: turns arrive at `rate` per second (Poisson) at one writer that
//    commits everything waiting as one group, each commit taking a duration drawn from the
//    appends measured above and no CPU time at all. A turn waits for the commit in flight when
//    it arrives (more often a long one: long commits cover more arrivals) and then for its own.
//    The result is what a durable turn's wait cannot go below on this disk at that rate.
Dist group_commit_model(const std::vector<std::int64_t>& commits, double rate) {
  if (commits.empty() || rate <= 0) return {};
  std::uint64_t rng = 0x9E3779B97F4A7C15ull;
  auto next = [&] {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
  };
  auto exp_gap = [&] {
    const double u = (double(next() >> 11) + 0.5) / 9007199254740992.0;
    return static_cast<std::int64_t>(-std::log(u) / rate * 1e9);
  };
  const std::size_t turns = 200'000;
  std::vector<std::int64_t> wait;
  wait.reserve(turns);
  std::int64_t t = 0, writer_free = 0;
  std::vector<std::int64_t> group;  // arrival times waiting for the next commit
  for (std::size_t i = 0; i < turns; ++i) {
    t += exp_gap();
    // Commits that start (and end) before this arrival take everything that was waiting.
    while (!group.empty() && writer_free <= t) {
      const std::int64_t done = writer_free + commits[next() % commits.size()];
      for (std::int64_t a : group) wait.push_back(done - a);
      group.clear();
      writer_free = done;
    }
    if (group.empty() && writer_free < t) writer_free = t;  // an idle writer starts at once
    group.push_back(t);
  }
  return dist_of(std::move(wait));
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  std::string dir = ".";
  double rate = 2000;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--rate" && i + 1 < argc) {
      rate = std::atof(argv[++i]);
    } else if (a == "--json") {
      json = true;
    } else {
      std::fprintf(stderr, "usage: %s [--seconds S] [--dir DIR] [--rate R] [--json]\n", argv[0]);
      return 2;
    }
  }
  if (!(seconds > 0 && seconds <= 600)) {
    std::fprintf(stderr, "--seconds must be in (0, 600]\n");
    return 2;
  }
  if (!(rate > 0 && rate <= 1e6)) {
    std::fprintf(stderr, "--rate must be in (0, 1000000]\n");
    return 2;
  }
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  std::printf("platform floor: %u CPUs, %.0f s per measurement, appends in %s\n", cpus, seconds, dir.c_str());
  const Dist timer = timer_lateness(cpus, seconds);
  print_dist("timer lateness (10 ms period)", timer);
  const Gaps gaps = cpu_gaps(cpus, seconds);
  std::printf("  %-34s %zu over 50 us, %zu over 1 ms, %zu over 5 ms; max %.3f ms\n", "CPU taken from a spinning thread",
              gaps.over_50us, gaps.over_1ms, gaps.over_5ms, gaps.max_ms);
  std::printf("  %-34s %.3f%% of the time lost; %.3f%% more than 1 ms into a gap\n", "", gaps.lost * 100,
              gaps.beyond_1ms * 100);
  if (gaps.steal >= 0) std::printf("  %-34s %.3f%% of the time stolen by the hypervisor\n", "", gaps.steal * 100);
  const Dist wake = cross_cpu_wakeup(cpus, seconds);
  print_dist("wake-up on the other CPU", wake);
  std::vector<std::int64_t> appends;
  const Dist append = durable_append(dir, seconds, appends);
  print_dist("4 KiB append + fdatasync", append);
  const Dist model = group_commit_model(appends, rate);
  char what[64];
  std::snprintf(what, sizeof what, "group-commit model, %.0f turns/s", rate);
  print_dist(what, model);
  if (json) {
    std::printf("{\"cpus\":%u,\"seconds\":%.0f,\"timer\":%s,\"gaps\":{\"over_50us\":%zu,\"over_1ms\":%zu,\"over_5ms\":%zu,"
                "\"max_ms\":%.3f,\"lost\":%.5f,\"beyond_1ms\":%.5f,\"steal\":%.5f},\"wakeup\":%s,\"append\":%s,\"model_rate\":%.0f,\"model\":%s}\n",
                cpus, seconds, dist_json(timer).c_str(), gaps.over_50us, gaps.over_1ms, gaps.over_5ms, gaps.max_ms,
                gaps.lost, gaps.beyond_1ms, gaps.steal, dist_json(wake).c_str(), dist_json(append).c_str(), rate,
                dist_json(model).c_str());
  }
  return 0;
}
