// Micro-benchmarks of the per-token path of a chat turn: building a token event's JSON members,
// publishing it on the in-process bus to one subscriber (sequence number, event JSON, replay
// ring, queue push) and framing it as SSE. A 64-token reply does each of these 64 times.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <string>

#include "api/JsonEventFormatter.h"
#include "server/SseStream.h"
#include "sync/InProcessBus.h"

namespace {

using namespace troupe;

// Hands out sequence ranges from memory (the real allocator writes a high-water mark to SQLite
// once per block of numbers).
class MemorySeq final : public sync::SeqAllocator {
 public:
  Result<std::int64_t> reserve(std::int64_t, std::int64_t count) override { return high_ += count; }

 private:
  std::int64_t high_ = 0;
};

constexpr std::string_view kPiece = " wandering";

void BM_FormatTokenFields(benchmark::State& state) {
  api::JsonEventFormatter fmt;
  for (auto _ : state) {
    auto fields = fmt.token(123456, 654321, kPiece);
    benchmark::DoNotOptimize(fields);
  }
}
BENCHMARK(BM_FormatTokenFields);

void BM_SseFrameToken(benchmark::State& state) {
  api::JsonEventFormatter fmt;
  sync::Event ev;
  ev.chat_id = 42;
  ev.seq = 1'048'577;
  ev.type = "token";
  ev.json = R"({"type":"token","chat_id":42,"seq":1048577,)" + fmt.token(123456, 654321, kPiece) + "}";
  std::string out;
  for (auto _ : state) {
    out.clear();
    server::SseStream::frame(ev, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_SseFrameToken);

// fields built by the formatter + publish to `subscribers` subscribers + each drains its queue.
void BM_PublishToken(benchmark::State& state) {
  boost::asio::io_context io;
  MemorySeq seq;
  sync::InProcessBus bus(seq, sync::InProcessBusOptions{});
  api::JsonEventFormatter fmt;
  const std::int64_t chat = 7;
  (void)bus.prepare(chat);
  std::vector<std::shared_ptr<sync::Subscription>> subs;
  for (int i = 0; i < state.range(0); ++i) {
    auto s = bus.subscribe(io.get_executor(), chat, 0);
    if (!s.ok()) {
      state.SkipWithError("subscribe failed");
      return;
    }
    subs.push_back(std::move(s).value());
  }
  for (auto _ : state) {
    auto ev = bus.publish(chat, "token", fmt.token(123456, 654321, kPiece));
    benchmark::DoNotOptimize(ev);
    for (auto& s : subs) benchmark::DoNotOptimize(s->try_next());
  }
  for (auto& s : subs) s->close();
}
BENCHMARK(BM_PublishToken)->Arg(0)->Arg(1)->Arg(4);

// The whole per-token server path for an SSE subscriber, minus the socket write: fields, publish,
// dequeue, frame.
void BM_TokenToSseBytes(benchmark::State& state) {
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
  for (auto _ : state) {
    (void)bus.publish(chat, "token", fmt.token(123456, 654321, kPiece));
    out.clear();
    if (auto ev = (*sub)->try_next()) server::SseStream::frame(*ev, out);
    benchmark::DoNotOptimize(out.data());
  }
  (*sub)->close();
}
BENCHMARK(BM_TokenToSseBytes);

}  // namespace

BENCHMARK_MAIN();
