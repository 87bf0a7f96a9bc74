// JsonScanner: a strict RFC 8259 validator that reports the exact source bytes of each value, so
// values the product does not interpret can be stored and re-emitted byte for byte.
// Thread-safety: immutable after construction; const member functions may run on any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/Result.h"

namespace troupe::cards {

enum class JsonKind : std::uint8_t { object, array, string, number, boolean, null };

// One value of the scanned document: its kind and its exact source bytes.
struct JsonValue {
  JsonKind kind = JsonKind::null;
  std::size_t offset = 0;  // byte position of the value in the document
  std::string_view text;   // exact source bytes (points into the document)
};

// One object member, in source order. Duplicate keys are reported as they appear.
struct JsonMember {
  std::string key;           // decoded key
  std::string_view raw_key;  // source bytes of the key, quotes and escapes included
  JsonValue value;
};

class JsonScanner {
 public:
  // Boost.JSON's default nesting limit; documents deeper than this are refused.
  static constexpr std::size_t kDefaultMaxDepth = 32;

  // Validation recurses once per nesting level, so the limit itself is capped.
  static constexpr std::size_t kHardMaxDepth = 512;

  // `doc` must outlive the scanner and every JsonValue/JsonMember it returns.
  explicit JsonScanner(std::string_view doc, std::size_t max_depth = kDefaultMaxDepth) noexcept
      : doc_(doc), max_depth_(max_depth < kHardMaxDepth ? max_depth : kHardMaxDepth) {}

  // Validates the whole document (exactly one value, whitespace around it allowed) and returns it.
  // Errors are Errc::bad_request with the byte position: "invalid JSON at byte 17: expected ':'".
  Result<JsonValue> parse_document() const;

  // Members of an object value of this document.
  Result<std::vector<JsonMember>> members(const JsonValue& object) const;
  // Elements of an array value of this document.
  Result<std::vector<JsonValue>> elements(const JsonValue& array) const;
  // The decoded contents of a string value (escapes resolved, UTF-8).
  Result<std::string> decode_string(const JsonValue& str) const;

 private:
  struct Scanned {
    std::size_t end = 0;
    JsonKind kind = JsonKind::null;
  };

  Error fail(std::size_t pos, std::string_view what) const;
  std::size_t skip_ws(std::size_t pos) const noexcept;
  Result<Scanned> scan_value(std::size_t pos, std::size_t depth) const;
  Result<std::size_t> scan_container(std::size_t pos, std::size_t depth) const;
  // pos is at the opening quote; returns the position after the closing quote. Decodes into `out`
  // when it is non-null.
  Result<std::size_t> scan_string(std::size_t pos, std::string* out) const;
  Result<std::size_t> scan_number(std::size_t pos) const;
  Result<std::size_t> scan_hex4(std::size_t pos, std::uint32_t& unit) const;
  Result<std::size_t> scan_literal(std::size_t pos, std::string_view word) const;

  std::string_view doc_;
  std::size_t max_depth_;
};

}  // namespace troupe::cards
