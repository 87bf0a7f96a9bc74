// Heap allocations per streamed token: the per-token server path (token fields, bus publish with
// sequence number, event JSON and replay ring, subscriber queue, dequeue, SSE framing) run under a
// counting global operator new. Reports `allocs_per_token` and `bytes_per_token` as counters; the
// target is zero (docs/BENCHMARKS.md). Counts every operator new in the process, so the loop body
// is the only code running between the two readings.
#include <benchmark/benchmark.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <new>
#include <string>

#include "api/JsonEventFormatter.h"
#include "server/SseStream.h"
#include "sync/InProcessBus.h"

namespace {

std::atomic<std::uint64_t> g_allocs{0};
std::atomic<std::uint64_t> g_bytes{0};

void* counted_alloc(std::size_t n, std::size_t align) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  g_bytes.fetch_add(n, std::memory_order_relaxed);
  if (n == 0) n = 1;
  void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (n + align - 1) / align * align)
                                              : std::malloc(n);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n, 0); }
void* operator new[](std::size_t n) { return counted_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_alloc(n, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

using namespace troupe;

class MemorySeq final : public sync::SeqAllocator {
 public:
  Result<std::int64_t> reserve(std::int64_t, std::int64_t count) override { return high_ += count; }

 private:
  std::int64_t high_ = 0;
};

constexpr std::string_view kPiece = " wandering";

// One SSE subscriber, 64-token replies: allocations per token in steady state (the replay ring
// full, the output buffer grown).
void BM_AllocsPerSseToken(benchmark::State& state) {
  boost::asio::io_context io;
  MemorySeq seq;
  sync::InProcessBus bus(seq, sync::InProcessBusOptions{});
  api::JsonEventFormatter fmt;
  const std::int64_t chat = 7;
  auto sub = bus.subscribe(io.get_executor(), chat, 0);
  if (!sub.ok()) {
    state.SkipWithError("subscribe failed");
    return;
  }
  std::string out;
  out.reserve(4096);
  std::string fields;  // as the generation's stream sink does: one buffer reused per token
  for (int i = 0; i < 10'000; ++i) {  // warm up: ring and queues at their working size
    fmt.token_into(fields, 123456, 654321, kPiece);
    (void)bus.publish(chat, "token", fields);
    (void)(*sub)->try_next();
  }
  std::uint64_t allocs = 0, bytes = 0, tokens = 0;
  for (auto _ : state) {
    const auto a0 = g_allocs.load(std::memory_order_relaxed);
    const auto b0 = g_bytes.load(std::memory_order_relaxed);
    for (int t = 0; t < 64; ++t) {
      fmt.token_into(fields, 123456, 654321, kPiece);
      (void)bus.publish(chat, "token", fields);
      out.clear();
      if (auto ev = (*sub)->try_next()) server::SseStream::frame(*ev, out);
      benchmark::DoNotOptimize(out.data());
    }
    allocs += g_allocs.load(std::memory_order_relaxed) - a0;
    bytes += g_bytes.load(std::memory_order_relaxed) - b0;
    tokens += 64;
  }
  (*sub)->close();
  state.counters["allocs_per_token"] = static_cast<double>(allocs) / static_cast<double>(tokens);
  state.counters["bytes_per_token"] = static_cast<double>(bytes) / static_cast<double>(tokens);
}
BENCHMARK(BM_AllocsPerSseToken);

}  // namespace

BENCHMARK_MAIN();
