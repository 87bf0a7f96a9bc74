// Helpers for the LocalVectorEngine tests: run searches on an io_context, a blocking loader gate.
// Thread-safety: test-only.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <unistd.h>

#include "KernelTestData.h"
#include "memory/engine/LocalVectorEngine.h"

namespace troupe::memory::testdata {

using SearchResult = Result<std::vector<Hit>>;

inline SearchResult run_search(LocalVectorEngine& e, SpaceId s, std::vector<float> q, std::size_t k,
                               std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  boost::asio::io_context io;
  std::optional<SearchResult> out;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        auto r = co_await e.search(s, q, k, deadline);
        out.emplace(std::move(r));
      },
      boost::asio::detached);
  io.run();
  return std::move(*out);
}

// run_search for tests that check results, not the fail-fast contract: a search that meets a
// load in progress answers `unavailable` by design (the service then degrades), so retry those
// until `timeout` has passed.
inline SearchResult search_when_ready(LocalVectorEngine& e, SpaceId s, std::vector<float> q,
                                      std::size_t k,
                                      std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto r = run_search(e, s, q, k);
    if (r.ok() || r.error().code != Errc::unavailable || std::chrono::steady_clock::now() >= until) {
      return r;
    }
    ::usleep(5000);
  }
}

// A gate a loader waits on until opened (bounded wait so a broken test cannot hang forever).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int waiting = 0;
  void wait() {
    std::unique_lock l(mu);
    ++waiting;
    cv.notify_all();
    cv.wait_for(l, std::chrono::seconds(20), [&] { return open; });
  }
  void release() {
    std::lock_guard l(mu);
    open = true;
    cv.notify_all();
  }
  void wait_for_waiter() {
    std::unique_lock l(mu);
    cv.wait_for(l, std::chrono::seconds(20), [&] { return waiting > 0; });
  }
};

inline std::string temp_dir(const std::string& tag) {
  auto p = std::filesystem::temp_directory_path() /
           ("troupe-eng-" + std::to_string(::getpid()) + "-" + tag);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

}  // namespace troupe::memory::testdata
