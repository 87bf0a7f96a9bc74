#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "EngineTestUtil.h"

namespace troupe::memory {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testdata::run_search;
using testdata::search_when_ready;

constexpr int kDims = 33;

struct Fixture {
  std::string dir;
  SpaceVectors data{testdata::iota_ids(120), testdata::random_unit(120, kDims, 3)};
  std::atomic<int> loads{0};
  EngineOptions options(std::string embedder = "emb-1") {
    EngineOptions o;
    o.dir = dir;
    o.embedder_name = std::move(embedder);
    o.dims = kDims;
    o.threads = 2;
    o.min_file_vectors = 0;  // these spaces are small; files are what is tested
    o.loader = [this](SpaceId) -> Result<SpaceVectors> {
      ++loads;
      return data;
    };
    return o;
  }
  std::vector<float> row(std::size_t i) const {
    return {data.vectors.begin() + i * kDims, data.vectors.begin() + (i + 1) * kDims};
  }
  std::string seg(SpaceId s) const { return dir + "/space-" + std::to_string(s) + ".seg"; }
  void expect_correct(LocalVectorEngine& e, SpaceId s) const {
    auto r = search_when_ready(e, s, row(17), 3);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_FALSE(r->empty());
    EXPECT_EQ((*r)[0].id, 1017u);
  }
};

void flip(const std::string& path, std::uintmax_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x01);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

TEST(EngineFilesTest, SegmentWrittenOnceThenReusedAcrossRestarts) {
  Fixture fx;
  fx.dir = testdata::temp_dir("reuse");
  {
    LocalVectorEngine e(fx.options());
    ASSERT_TRUE(e.start().ok());
    fx.expect_correct(e, 1);
    EXPECT_EQ(e.stats().loads_from_store, 1u);
    EXPECT_TRUE(fs::exists(fx.seg(1)));
  }
  LocalVectorEngine e(fx.options());
  ASSERT_TRUE(e.start().ok());
  // start() warms space 1 (in the access history) on the pool; a search while that load runs
  // fails fast with `unavailable` by design, so wait for the warm-up before searching.
  for (int i = 0; i < 500 && !e.info(1).resident; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(e.info(1).resident);
  fx.expect_correct(e, 1);
  EXPECT_EQ(fx.loads, 1);  // second engine read the file, not the store
  EXPECT_EQ(e.stats().loads_from_file, 1u);
  EXPECT_EQ(e.stats().loads_from_store, 0u);
  fs::remove_all(fx.dir);
}

TEST(EngineFilesTest, CorruptTruncatedWrongDimsOrEmbedderFilesAreRebuiltFromTheStore) {
  Fixture fx;
  fx.dir = testdata::temp_dir("corrupt");
  {
    LocalVectorEngine e(fx.options());
    fx.expect_correct(e, 1);
  }
  const auto good = fx.seg(1) + ".good";
  fs::copy_file(fx.seg(1), good);
  const auto size = fs::file_size(good);
  struct Case {
    const char* name;
    std::function<void()> damage;
    std::string embedder;
  };
  std::vector<Case> cases = {
      {"flip payload", [&] { flip(fx.seg(1), size - 5); }, "emb-1"},
      {"flip header", [&] { flip(fx.seg(1), 12); }, "emb-1"},
      {"truncate", [&] { fs::resize_file(fx.seg(1), size / 2); }, "emb-1"},
      {"empty", [&] { fs::resize_file(fx.seg(1), 0); }, "emb-1"},
      {"wrong embedder", [] {}, "emb-2"},
  };
  for (auto& c : cases) {
    fs::copy_file(good, fx.seg(1), fs::copy_options::overwrite_existing);
    c.damage();
    const int before = fx.loads;
    LocalVectorEngine e(fx.options(c.embedder));
    fx.expect_correct(e, 1);
    EXPECT_EQ(fx.loads, before + 1) << c.name;
    EXPECT_EQ(e.stats().segment_rejected, 1u) << c.name;
    EXPECT_TRUE(fs::exists(fx.seg(1))) << c.name;  // rewritten from the store
  }
  // Wrong dimensions: an engine of another size never trusts the file.
  fs::copy_file(good, fx.seg(1), fs::copy_options::overwrite_existing);
  auto o = fx.options();
  o.dims = kDims + 1;
  o.loader = [](SpaceId) -> Result<SpaceVectors> { return SpaceVectors{}; };
  LocalVectorEngine e(o);
  auto r = run_search(e, 1, std::vector<float>(kDims + 1, 0.1f), 3);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(e.stats().segment_rejected, 1u);
  fs::remove_all(fx.dir);
}

TEST(EngineFilesTest, UpsertInvalidatesTheFileSoARestartRereadsTheStore) {
  Fixture fx;
  fx.dir = testdata::temp_dir("stale");
  {
    LocalVectorEngine e(fx.options());
    fx.expect_correct(e, 1);
    ASSERT_TRUE(fs::exists(fx.seg(1)));
    const VectorId id[] = {5000};
    ASSERT_TRUE(e.upsert(1, id, fx.row(3)).ok());
    EXPECT_FALSE(fs::exists(fx.seg(1)));
  }
  LocalVectorEngine e(fx.options());
  fx.expect_correct(e, 1);
  EXPECT_EQ(e.stats().loads_from_store, 1u);
  fs::remove_all(fx.dir);
}

TEST(EngineFilesTest, CompactionRewritesTheFileWhichARestartTrusts) {
  Fixture fx;
  fx.dir = testdata::temp_dir("compact");
  auto extra = testdata::random_unit(300, kDims, 12);
  auto ids = testdata::iota_ids(300, 1);
  {
    LocalVectorEngine e(fx.options());
    fx.expect_correct(e, 1);
    ASSERT_TRUE(e.upsert(1, ids, extra).ok());
    // Compaction writes the file first and counts itself once the new index is in place: wait for
    // the count (the file alone may exist before the compaction has finished).
    for (int i = 0; i < 500 && e.stats().compactions == 0; ++i) std::this_thread::sleep_for(10ms);
    EXPECT_GE(e.stats().compactions, 1u);
    EXPECT_TRUE(fs::exists(fx.seg(1)));
    EXPECT_EQ(e.info(1).size, 420u);
  }
  const int before = fx.loads;
  LocalVectorEngine e(fx.options());
  auto q = std::vector<float>(extra.begin() + 5 * kDims, extra.begin() + 6 * kDims);
  auto r = search_when_ready(e, 1, q, 1);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].id, 6u);
  EXPECT_EQ(fx.loads, before);  // from the compacted file, not the store
  EXPECT_EQ(e.info(1).size, 420u);
  fs::remove_all(fx.dir);
}

TEST(EngineFilesTest, ResidentSetIsBoundedAndTrimEvictsColdSpaces) {
  Fixture fx;
  fx.dir = testdata::temp_dir("resident");
  auto o = fx.options();
  o.resident_spaces = 2;
  o.lru_k = 2;
  LocalVectorEngine e(o);
  for (SpaceId s : {1, 1, 2, 2, 3}) fx.expect_correct(e, s);
  // Space 3 was loaded last (kept); of 1 and 2 (both seen twice) the older K-th access goes.
  EXPECT_TRUE(e.info(3).resident);
  EXPECT_EQ(e.info(1).resident + e.info(2).resident, 1);
  EXPECT_FALSE(e.info(1).resident);
  EXPECT_EQ(e.stats().evictions, 1u);
  EXPECT_EQ(e.info(1).size, 120u);  // still known
  fx.expect_correct(e, 1);           // reloads on demand (from its file)
  EXPECT_TRUE(e.info(1).resident);
  e.trim();  // space 3 has one access (< K): not hot
  EXPECT_FALSE(e.info(3).resident);
  EXPECT_TRUE(e.info(1).resident);
  EXPECT_TRUE(fs::exists(fx.dir + "/access-history"));
  fs::remove_all(fx.dir);
}

TEST(EngineFilesTest, StartWarmsHotSpacesFromTheAccessHistory) {
  Fixture fx;
  fx.dir = testdata::temp_dir("warm");
  {
    auto o = fx.options();
    LocalVectorEngine e(o);
    for (SpaceId s : {7, 7, 7, 8, 8, 9}) fx.expect_correct(e, s);
    e.shutdown();  // saves the history
  }
  auto o = fx.options();
  o.resident_spaces = 2;
  LocalVectorEngine e(o);
  ASSERT_TRUE(e.start().ok());
  for (int i = 0; i < 500 && !(e.info(7).resident && e.info(8).resident); ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(e.info(7).resident);
  EXPECT_TRUE(e.info(8).resident);
  EXPECT_FALSE(e.info(9).resident);
  EXPECT_EQ(e.stats().loads_from_file, 2u);
  fs::remove_all(fx.dir);
}

TEST(EngineFilesTest, SpacesBelowTheFileThresholdGetNoFileAndReloadFromTheStore) {
  Fixture fx;
  fx.dir = testdata::temp_dir("small");
  auto o = fx.options();
  o.min_file_vectors = 121;  // the fixture's space has 120 vectors
  {
    LocalVectorEngine e(o);
    ASSERT_TRUE(e.start().ok());
    fx.expect_correct(e, 1);
    EXPECT_FALSE(fs::exists(fx.seg(1)));
  }
  LocalVectorEngine e(o);
  ASSERT_TRUE(e.start().ok());
  fx.expect_correct(e, 1);
  EXPECT_EQ(fx.loads, 2);  // both engines read the store
  EXPECT_EQ(e.stats().loads_from_file, 0u);
  EXPECT_GE(e.stats().loads_from_store, 1u);
  EXPECT_FALSE(fs::exists(fx.seg(1)));
  fs::remove_all(fx.dir);
}

TEST(EngineFilesTest, DropSpaceRemovesItsFile) {
  Fixture fx;
  fx.dir = testdata::temp_dir("drop");
  LocalVectorEngine e(fx.options());
  fx.expect_correct(e, 4);
  ASSERT_TRUE(fs::exists(fx.seg(4)));
  ASSERT_TRUE(e.drop_space(4).ok());
  EXPECT_FALSE(fs::exists(fx.seg(4)));
  EXPECT_EQ(e.info(4).index_kind, "");
  fs::remove_all(fx.dir);
}

}  // namespace
}  // namespace troupe::memory
