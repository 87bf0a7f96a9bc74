// ExactVectorEngine (the plain fallback engine): loads a space through the SpaceLoader on first
// search, applies upserts/removes to a loaded space, answers best first, honours the deadline.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <optional>

#include "memory/service/ExactVectorEngine.h"

namespace troupe::memory {
namespace {

namespace asio = boost::asio;

Result<std::vector<Hit>> search(VectorEngine& e, SpaceId s, std::vector<float> q, std::size_t k,
                                std::chrono::milliseconds budget = std::chrono::seconds(5)) {
  asio::io_context io;
  std::optional<Result<std::vector<Hit>>> out;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    out.emplace(co_await e.search(s, q, k, std::chrono::steady_clock::now() + budget));
  }, asio::detached);
  io.run();
  return std::move(*out);
}

TEST(ExactVectorEngineTest, LoadsUpdatesAndRanks) {
  asio::thread_pool pool(1);
  int loads = 0;
  ExactVectorEngine e(2, [&](SpaceId) -> Result<SpaceVectors> {
    ++loads;
    return SpaceVectors{{1, 2}, {1, 0, 0, 1}};
  }, pool);
  auto r = search(e, 7, {0.6f, 0.8f}, 5);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].id, 2u);
  EXPECT_FLOAT_EQ((*r)[0].score, 0.8f);
  std::vector<VectorId> ids{3};
  std::vector<float> v{0.6f, 0.8f};
  ASSERT_TRUE(e.upsert(7, ids, v).ok());
  std::vector<VectorId> gone{2};
  ASSERT_TRUE(e.remove(7, gone).ok());
  r = search(e, 7, {0.6f, 0.8f}, 1);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].id, 3u);
  EXPECT_EQ(e.info(7).size, 2u);
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(search(e, 7, {1, 0}, 1, std::chrono::milliseconds(-1)).error().code, Errc::timeout);
  EXPECT_EQ(search(e, 7, {1, 0, 0}, 1).error().code, Errc::bad_request);
  e.shutdown();
  EXPECT_EQ(search(e, 7, {1, 0}, 1).error().code, Errc::unavailable);
  pool.join();
}

}  // namespace
}  // namespace troupe::memory
