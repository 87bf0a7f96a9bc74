#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "KernelTestData.h"
#include "memory/index/Crc32c.h"
#include "memory/index/SegmentFile.h"

namespace troupe::memory {
namespace {
namespace fs = std::filesystem;

class SegmentFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("troupe-seg-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    path_ = (dir_ / "s.seg").string();
    ids_ = testdata::iota_ids(50);
    rows_ = testdata::random_unit(50, 17, 4);
    ASSERT_TRUE(SegmentFile::write(path_, "emb-a", 17, IndexKind::exact_int8, ids_, rows_).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }
  void poke(std::size_t offset) {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x10);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(&c, 1);
  }
  fs::path dir_;
  std::string path_;
  std::vector<VectorId> ids_;
  std::vector<float> rows_;
};

TEST_F(SegmentFileTest, Crc32cKnownValue) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c_portable("123456789", 9), 0xE3069283u);
  std::vector<char> big(1001, 'x');
  EXPECT_EQ(crc32c(big.data(), big.size()), crc32c_portable(big.data(), big.size()));
}

TEST_F(SegmentFileTest, RoundTripAndSharedMapping) {
  auto a = SegmentFile::open(path_, "emb-a", 17);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ((*a)->count(), 50u);
  EXPECT_EQ((*a)->kind(), IndexKind::exact_int8);
  for (std::size_t i = 0; i < 50; ++i) EXPECT_EQ((*a)->ids()[i], ids_[i]);
  for (std::size_t i = 0; i < rows_.size(); ++i) ASSERT_EQ((*a)->rows()[i], rows_[i]);
  auto b = SegmentFile::open(path_, "emb-a", 17);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());  // mapped once per process
}

TEST_F(SegmentFileTest, EmptySegmentRoundTrips) {
  ASSERT_TRUE(SegmentFile::write(path_, "emb-a", 3, IndexKind::exact, {}, {}).ok());
  auto a = SegmentFile::open(path_, "emb-a", 3);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->count(), 0u);
}

TEST_F(SegmentFileTest, RejectsMissingWrongEmbedderAndWrongDims) {
  EXPECT_EQ(SegmentFile::open((dir_ / "none").string(), "emb-a", 17).error().code, Errc::not_found);
  EXPECT_EQ(SegmentFile::open(path_, "emb-b", 17).error().code, Errc::unprocessable);
  EXPECT_EQ(SegmentFile::open(path_, "emb-a", 18).error().code, Errc::unprocessable);
}

TEST_F(SegmentFileTest, RejectsTruncatedFiles) {
  for (auto len : {std::uintmax_t{0}, std::uintmax_t{100}, std::uintmax_t{128},
                   fs::file_size(path_) - 1}) {
    ASSERT_TRUE(SegmentFile::write(path_, "emb-a", 17, IndexKind::exact, ids_, rows_).ok());
    fs::resize_file(path_, len);
    auto r = SegmentFile::open(path_, "emb-a", 17);
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_EQ(r.error().code, Errc::unprocessable);
  }
}

TEST_F(SegmentFileTest, RejectsFlippedBytesAnywhere) {
  const auto size = fs::file_size(path_);
  for (std::size_t off : {std::size_t{0}, std::size_t{9}, std::size_t{20}, std::size_t{70},
                          std::size_t{130}, std::size_t{128 + 50 * 8 + 3}, std::size_t(size - 1)}) {
    ASSERT_TRUE(SegmentFile::write(path_, "emb-a", 17, IndexKind::exact, ids_, rows_).ok());
    poke(off);
    auto r = SegmentFile::open(path_, "emb-a", 17);
    EXPECT_FALSE(r.ok()) << off;
  }
}

TEST_F(SegmentFileTest, WriteRejectsBadShapes) {
  EXPECT_FALSE(SegmentFile::write(path_, "emb-a", 17, IndexKind::exact, ids_,
                                  std::span<const float>(rows_.data(), 10)).ok());
  EXPECT_FALSE(SegmentFile::write(path_, std::string(100, 'e'), 17, IndexKind::exact, ids_, rows_).ok());
}

}  // namespace
}  // namespace troupe::memory
