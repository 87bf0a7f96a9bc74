#include "memory/embed/GloveEmbedder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include "memory/embed/TvecWriter.h"

namespace troupe::memory {
namespace {

namespace fs = std::filesystem;

float dot(std::span<const float> a, std::span<const float> b) {
  float s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// A small vocabulary with planted topics: "pet" words share one direction, "money" words
// another, function words a common one (the component SIF should remove).
struct SmallVocab : ::testing::Test {
  static constexpr int kDims = 16;
  std::string path;

  void SetUp() override {
    path = (fs::temp_directory_path() /
            ("troupe_glove_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".tvec"))
               .string();
    TvecWriterOptions o;
    o.dims = kDims;
    o.vocab_total = 1000;
    o.reference_sentences = 2000;
    TvecWriter w(o);
    std::mt19937 rng(7);
    std::normal_distribution<float> noise(0, 0.1f);
    auto vec = [&](int axis) {
      std::vector<float> v(kDims);
      for (auto& x : v) x = noise(rng);
      v[axis] += 1.0f;
      v[0] += 2.0f;  // common direction shared by every word
      return v;
    };
    std::uint32_t rank = 1;
    for (const char* f : {"the", "a", "is", "and", "'s", "n't", "do"}) ASSERT_TRUE(w.add(f, rank++, vec(1)).ok());
    for (const char* p : {"cat", "dog", "kitten", "puppy", "pet", "well-fed"}) ASSERT_TRUE(w.add(p, rank++ * 10, vec(2)).ok());
    for (const char* m : {"bank", "money", "loan", "cash", "3.5"}) ASSERT_TRUE(w.add(m, rank++ * 10, vec(3)).ok());
    ASSERT_TRUE(w.write(path).ok());
  }
  void TearDown() override { std::remove(path.c_str()); }

  std::vector<float> embed(GloveEmbedder& e, std::vector<std::string_view> texts) {
    std::vector<float> out(texts.size() * kDims, 9.0f);
    EXPECT_TRUE(e.embed(texts, out).ok());
    return out;
  }
  std::span<const float> row(const std::vector<float>& v, int i) { return {v.data() + i * kDims, kDims}; }
};

TEST_F(SmallVocab, OpensAndDescribesItself) {
  auto e = GloveEmbedder::open(path);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ((*e)->info().dims, kDims);
  EXPECT_EQ((*e)->info().name, "glove-16d-sif");
  EXPECT_EQ((*e)->vocabulary_size(), 18u);
  EXPECT_TRUE((*e)->knows("kitten"));
  EXPECT_TRUE((*e)->knows("3.5"));
  EXPECT_FALSE((*e)->knows("Kitten"));
  EXPECT_FALSE((*e)->knows("zebra"));
}

TEST_F(SmallVocab, UnitRowsTopicsSeparateUnknownIsZero) {
  auto e = GloveEmbedder::open(path);
  ASSERT_TRUE(e.ok());
  auto v = embed(**e, {"The cat and the dog", "A kitten is a PET!", "the bank loan", "zebra xylophone", ""});
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(dot(row(v, i), row(v, i)), 1.0f, 1e-4);
  EXPECT_EQ(dot(row(v, 3), row(v, 3)), 0.0f);
  EXPECT_EQ(dot(row(v, 4), row(v, 4)), 0.0f);
  float same = dot(row(v, 0), row(v, 1));
  float other = dot(row(v, 0), row(v, 2));
  EXPECT_GT(same, 0.8f);
  EXPECT_LT(other, same - 0.5f);  // without component removal both would be near 1
}

TEST_F(SmallVocab, ComponentRemovalTakesOutTheSharedDirection) {
  auto e = GloveEmbedder::open(path);
  ASSERT_TRUE(e.ok());
  auto v = embed(**e, {"cat dog", "bank money"});
  // Every word leans on axis 0; after removal the sentences barely do.
  EXPECT_LT(std::fabs(row(v, 0)[0]), 0.2f);
  EXPECT_LT(std::fabs(row(v, 1)[0]), 0.2f);
}

TEST_F(SmallVocab, UnknownWordsDoNotChangeTheVector) {
  auto e = GloveEmbedder::open(path);
  ASSERT_TRUE(e.ok());
  auto v = embed(**e, {"cat dog", "cat qwerty dog zzz", "Cat, DOG."});
  for (int d = 0; d < kDims; ++d) {
    EXPECT_FLOAT_EQ(row(v, 0)[d], row(v, 1)[d]);
    EXPECT_FLOAT_EQ(row(v, 0)[d], row(v, 2)[d]);
  }
}

TEST_F(SmallVocab, CompoundsAreLookedUpWholeThenAsParts) {
  auto e = GloveEmbedder::open(path);
  ASSERT_TRUE(e.ok());
  auto v = embed(**e, {"cat-dog", "cat dog", "well-fed", "well fed"});
  for (int d = 0; d < kDims; ++d) EXPECT_FLOAT_EQ(row(v, 0)[d], row(v, 1)[d]);
  EXPECT_NEAR(dot(row(v, 2), row(v, 2)), 1.0f, 1e-4);  // known as a whole
  EXPECT_EQ(dot(row(v, 3), row(v, 3)), 0.0f);          // "well" and "fed" alone are unknown
}

TEST_F(SmallVocab, ConcurrentCallsAgreeWithASingleThread) {
  auto e = GloveEmbedder::open(path);
  ASSERT_TRUE(e.ok());
  std::vector<std::string_view> texts{"the cat and the dog", "bank loan cash", "a puppy is a pet", "zzz"};
  auto expected = embed(**e, texts);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<float> out(texts.size() * kDims);
      for (int i = 0; i < 200; ++i) {
        if (!(*e)->embed(texts, out).ok() || out != expected) mismatches.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(SmallVocab, RejectsWrongOutputSize) {
  auto e = GloveEmbedder::open(path);
  ASSERT_TRUE(e.ok());
  std::vector<std::string_view> texts{"cat"};
  std::vector<float> out(kDims + 1);
  EXPECT_FALSE((*e)->embed(texts, out).ok());
}

TEST(TvecWriter, RejectsDuplicatesBadVectorsAndEmpty) {
  TvecWriterOptions o;
  o.dims = 4;
  TvecWriter w(o);
  std::vector<float> v{1, 2, 3, 4}, bad{1, NAN, 3, 4}, shortv{1, 2};
  EXPECT_FALSE(w.add("x", 1, bad).ok());
  EXPECT_FALSE(w.add("x", 1, shortv).ok());
  EXPECT_FALSE(w.add("", 1, v).ok());
  EXPECT_FALSE(w.add("x", 0, v).ok());
  std::string path = (fs::temp_directory_path() / "troupe_tvec_dup.tvec").string();
  EXPECT_FALSE(w.write(path).ok());  // no words
  ASSERT_TRUE(w.add("x", 1, v).ok());
  ASSERT_TRUE(w.add("x", 2, v).ok());
  EXPECT_FALSE(w.write(path).ok());
  EXPECT_FALSE(fs::exists(path));
}

// ---- corruption: every damaged file is an error, never a crash ----

struct Corruption : SmallVocab {
  std::vector<char> bytes() {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  void put(const std::vector<char>& b) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(b.data(), static_cast<std::streamsize>(b.size()));
  }
};

TEST_F(Corruption, MissingFile) {
  auto e = GloveEmbedder::open(path + ".nope");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, Errc::not_found);
}

TEST_F(Corruption, TruncatedAtEveryRegion) {
  auto b = bytes();
  for (std::size_t keep : {std::size_t(0), std::size_t(10), std::size_t(127), std::size_t(128),
                           std::size_t(200), b.size() / 2, b.size() - 1}) {
    put({b.begin(), b.begin() + static_cast<long>(keep)});
    auto e = GloveEmbedder::open(path);
    ASSERT_FALSE(e.ok()) << "kept " << keep;
    EXPECT_EQ(e.error().code, Errc::unprocessable);
  }
}

TEST_F(Corruption, AppendedBytes) {
  auto b = bytes();
  b.push_back('x');
  put(b);
  EXPECT_FALSE(GloveEmbedder::open(path).ok());
}

TEST_F(Corruption, FlippedBitAnywhereIsDetected) {
  auto b = bytes();
  std::mt19937 rng(3);
  for (int trial = 0; trial < 64; ++trial) {
    auto c = b;
    std::size_t at = rng() % c.size();
    c[at] = static_cast<char>(c[at] ^ (1 << (rng() % 8)));
    put(c);
    auto e = GloveEmbedder::open(path);
    EXPECT_FALSE(e.ok()) << "flip at byte " << at;
  }
}

TEST_F(Corruption, HeaderFieldsOutOfRange) {
  auto b = bytes();
  for (std::size_t off : {std::size_t(8), std::size_t(12), std::size_t(16), std::size_t(40), std::size_t(48)}) {
    auto c = b;
    std::uint32_t huge = 0xfffffff0u;
    std::memcpy(&c[off], &huge, 4);
    put(c);
    auto e = GloveEmbedder::open(path);
    EXPECT_FALSE(e.ok()) << "field at " << off;
  }
  auto c = b;
  c[0] = 'X';
  put(c);
  auto e = GloveEmbedder::open(path);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("not a .tvec"), std::string::npos);
}

// ---- the real GloVe file, when scripts/prepare-glove has made it ----

TEST(GloveReal, SimilarSentencesScoreHigherThanUnrelated) {
  const std::string path = TROUPE_DEFAULT_GLOVE_PATH;
  if (!fs::exists(path)) {
    std::cout << "[ info ] " << path
              << " is absent (run scripts/prepare-glove); only the file-free checks ran\n";
    EXPECT_FALSE(GloveEmbedder::open(path).ok());
    return;
  }
  auto e = GloveEmbedder::open(path);
  ASSERT_TRUE(e.ok()) << e.error().message;
  EXPECT_EQ((*e)->info().name, "glove-6b-100d-sif");
  EXPECT_EQ((*e)->info().dims, 100);
  EXPECT_GE((*e)->vocabulary_size(), 90000u);
  for (const char* w : {"the", "cat", "paris", "ca", "physician"}) EXPECT_TRUE((*e)->knows(w)) << w;
  // The source data has no numbers, single letters or clitics ("'s", "n't"): they are skipped.
  for (const char* w : {"1990", "a", "'s", "n't", "Paris"}) EXPECT_FALSE((*e)->knows(w)) << w;
  std::vector<std::string_view> texts{
      "My sister lives in Paris and works as a doctor.",            // 0
      "Her sibling is a physician living in France.",               // 1
      "The stock market fell sharply after the bank's report.",     // 2
      "Shares dropped when the financial results were announced.",  // 3
      "I adopted a small kitten last week.",                        // 4
      "We got a new puppy for the kids.",                           // 5
  };
  std::vector<float> out(texts.size() * 100);
  ASSERT_TRUE((*e)->embed(texts, out).ok());
  auto r = [&](int i) { return std::span<const float>(out.data() + i * 100, 100); };
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(dot(r(i), r(i)), 1.0f, 1e-4);
  // Each sentence is closer to its paraphrase than to any sentence of another topic.
  for (int i = 0; i < 6; ++i) {
    int pair = i ^ 1;
    for (int j = 0; j < 6; ++j) {
      if (j == i || j == pair) continue;
      EXPECT_GT(dot(r(i), r(pair)), dot(r(i), r(j))) << i << " vs " << j;
    }
  }
}

}  // namespace
}  // namespace troupe::memory
