#include "cards/JsonScanner.h"

#include "cards/Utf8.h"

namespace troupe::cards {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Exponents with more significant digits than this are refused: they carry no meaning for a double
// and overflow the exponent arithmetic of common parsers (Boost.JSON reports "exponent overflow").
constexpr std::size_t kMaxExponentDigits = 8;

}  // namespace

Error JsonScanner::fail(std::size_t pos, std::string_view what) const {
  return Error{Errc::bad_request,
               "invalid JSON at byte " + std::to_string(pos) + ": " + std::string(what)};
}

std::size_t JsonScanner::skip_ws(std::size_t pos) const noexcept {
  while (pos < doc_.size()) {
    const char c = doc_[pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    ++pos;
  }
  return pos;
}

Result<JsonValue> JsonScanner::parse_document() const {
  const std::size_t start = skip_ws(0);
  auto v = scan_value(start, 0);
  if (!v.ok()) return v.error();
  const std::size_t end = skip_ws(v->end);
  if (end != doc_.size()) return fail(end, "unexpected data after the JSON value");
  return JsonValue{v->kind, start, doc_.substr(start, v->end - start)};
}

Result<JsonScanner::Scanned> JsonScanner::scan_value(std::size_t pos, std::size_t depth) const {
  if (pos >= doc_.size()) return fail(pos, "unexpected end of input, expected a value");
  const char c = doc_[pos];
  Result<std::size_t> end = std::size_t{0};
  JsonKind kind = JsonKind::null;
  switch (c) {
    case '{':
      kind = JsonKind::object;
      end = scan_container(pos, depth);
      break;
    case '[':
      kind = JsonKind::array;
      end = scan_container(pos, depth);
      break;
    case '"':
      kind = JsonKind::string;
      end = scan_string(pos, nullptr);
      break;
    case 't':
      kind = JsonKind::boolean;
      end = scan_literal(pos, "true");
      break;
    case 'f':
      kind = JsonKind::boolean;
      end = scan_literal(pos, "false");
      break;
    case 'n':
      kind = JsonKind::null;
      end = scan_literal(pos, "null");
      break;
    default:
      if (c == '-' || is_digit(c)) {
        kind = JsonKind::number;
        end = scan_number(pos);
      } else {
        return fail(pos, "expected a value");
      }
  }
  if (!end.ok()) return end.error();
  return Scanned{*end, kind};
}

Result<std::size_t> JsonScanner::scan_container(std::size_t pos, std::size_t depth) const {
  const bool is_object = doc_[pos] == '{';
  const char close = is_object ? '}' : ']';
  if (depth + 1 > max_depth_) {
    return fail(pos, "nesting deeper than " + std::to_string(max_depth_) + " levels");
  }
  pos = skip_ws(pos + 1);
  if (pos < doc_.size() && doc_[pos] == close) return pos + 1;
  for (;;) {
    if (is_object) {
      if (pos >= doc_.size() || doc_[pos] != '"') return fail(pos, "expected a string key");
      auto key_end = scan_string(pos, nullptr);
      if (!key_end.ok()) return key_end.error();
      pos = skip_ws(*key_end);
      if (pos >= doc_.size() || doc_[pos] != ':') return fail(pos, "expected ':'");
      pos = skip_ws(pos + 1);
    }
    auto v = scan_value(pos, depth + 1);
    if (!v.ok()) return v.error();
    pos = skip_ws(v->end);
    if (pos >= doc_.size()) return fail(pos, "unexpected end of input inside a container");
    if (doc_[pos] == close) return pos + 1;
    if (doc_[pos] != ',')
      return fail(pos, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    pos = skip_ws(pos + 1);
  }
}

Result<std::size_t> JsonScanner::scan_hex4(std::size_t pos, std::uint32_t& unit) const {
  if (doc_.size() - pos < 4) return fail(pos, "truncated \\u escape");
  unit = 0;
  for (std::size_t k = 0; k < 4; ++k) {
    const int h = hex_value(doc_[pos + k]);
    if (h < 0) return fail(pos + k, "invalid hex digit in \\u escape");
    unit = unit * 16 + static_cast<std::uint32_t>(h);
  }
  return pos + 4;
}

Result<std::size_t> JsonScanner::scan_string(std::size_t pos, std::string* out) const {
  ++pos;  // opening quote
  for (;;) {
    if (pos >= doc_.size()) return fail(pos, "unterminated string");
    const auto c = static_cast<unsigned char>(doc_[pos]);
    if (c == '"') return pos + 1;
    if (c < 0x20) return fail(pos, "control character in string");
    if (c >= 0x80) {
      const std::size_t len = utf8::sequence_length(doc_, pos);
      if (len == 0) return fail(pos, "invalid UTF-8 in string");
      if (out) out->append(doc_.substr(pos, len));
      pos += len;
      continue;
    }
    if (c != '\\') {
      if (out) out->push_back(static_cast<char>(c));
      ++pos;
      continue;
    }
    if (pos + 1 >= doc_.size()) return fail(pos, "unterminated string");
    const char e = doc_[pos + 1];
    char plain = 0;
    switch (e) {
      case '"':
        plain = '"';
        break;
      case '\\':
        plain = '\\';
        break;
      case '/':
        plain = '/';
        break;
      case 'b':
        plain = '\b';
        break;
      case 'f':
        plain = '\f';
        break;
      case 'n':
        plain = '\n';
        break;
      case 'r':
        plain = '\r';
        break;
      case 't':
        plain = '\t';
        break;
      case 'u':
        break;
      default:
        return fail(pos, "invalid escape sequence");
    }
    if (e != 'u') {
      if (out) out->push_back(plain);
      pos += 2;
      continue;
    }
    std::uint32_t unit = 0;
    auto after = scan_hex4(pos + 2, unit);
    if (!after.ok()) return after.error();
    if (unit >= 0xDC00 && unit <= 0xDFFF) return fail(pos, "unpaired low surrogate in \\u escape");
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      const std::size_t low_at = *after;
      if (doc_.size() - low_at < 2 || doc_[low_at] != '\\' || doc_[low_at + 1] != 'u') {
        return fail(pos, "unpaired high surrogate in \\u escape");
      }
      std::uint32_t low = 0;
      auto low_end = scan_hex4(low_at + 2, low);
      if (!low_end.ok()) return low_end.error();
      if (low < 0xDC00 || low > 0xDFFF) return fail(low_at, "invalid low surrogate in \\u escape");
      unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
      after = low_end;
    }
    if (out) utf8::append(*out, unit);
    pos = *after;
  }
}

Result<std::size_t> JsonScanner::scan_number(std::size_t pos) const {
  const std::size_t n = doc_.size();
  if (doc_[pos] == '-') ++pos;
  if (pos >= n || !is_digit(doc_[pos])) return fail(pos, "expected a digit");
  if (doc_[pos] == '0') {
    ++pos;
    if (pos < n && is_digit(doc_[pos])) return fail(pos, "leading zero in number");
  } else {
    while (pos < n && is_digit(doc_[pos])) ++pos;
  }
  if (pos < n && doc_[pos] == '.') {
    ++pos;
    if (pos >= n || !is_digit(doc_[pos])) return fail(pos, "expected a digit after '.'");
    while (pos < n && is_digit(doc_[pos])) ++pos;
  }
  if (pos < n && (doc_[pos] == 'e' || doc_[pos] == 'E')) {
    ++pos;
    if (pos < n && (doc_[pos] == '+' || doc_[pos] == '-')) ++pos;
    if (pos >= n || !is_digit(doc_[pos])) return fail(pos, "expected a digit in the exponent");
    while (pos < n && doc_[pos] == '0') ++pos;
    std::size_t significant = 0;
    const std::size_t digits_at = pos;
    while (pos < n && is_digit(doc_[pos])) {
      ++pos;
      ++significant;
    }
    if (significant > kMaxExponentDigits) return fail(digits_at, "number exponent out of range");
  }
  return pos;
}

Result<std::size_t> JsonScanner::scan_literal(std::size_t pos, std::string_view word) const {
  if (doc_.substr(pos, word.size()) != word) {
    return fail(pos, "invalid literal, expected '" + std::string(word) + "'");
  }
  return pos + word.size();
}

Result<std::vector<JsonMember>> JsonScanner::members(const JsonValue& object) const {
  if (object.kind != JsonKind::object) return fail(object.offset, "expected an object");
  std::vector<JsonMember> out;
  std::size_t pos = skip_ws(object.offset + 1);
  if (pos < doc_.size() && doc_[pos] == '}') return out;
  for (;;) {
    if (pos >= doc_.size() || doc_[pos] != '"') return fail(pos, "expected a string key");
    JsonMember m;
    auto key_end = scan_string(pos, &m.key);
    if (!key_end.ok()) return key_end.error();
    m.raw_key = doc_.substr(pos, *key_end - pos);
    pos = skip_ws(*key_end);
    if (pos >= doc_.size() || doc_[pos] != ':') return fail(pos, "expected ':'");
    pos = skip_ws(pos + 1);
    auto v = scan_value(pos, 1);
    if (!v.ok()) return v.error();
    m.value = JsonValue{v->kind, pos, doc_.substr(pos, v->end - pos)};
    out.push_back(std::move(m));
    pos = skip_ws(v->end);
    if (pos >= doc_.size()) return fail(pos, "unexpected end of input inside an object");
    if (doc_[pos] == '}') return out;
    if (doc_[pos] != ',') return fail(pos, "expected ',' or '}'");
    pos = skip_ws(pos + 1);
  }
}

Result<std::vector<JsonValue>> JsonScanner::elements(const JsonValue& array) const {
  if (array.kind != JsonKind::array) return fail(array.offset, "expected an array");
  std::vector<JsonValue> out;
  std::size_t pos = skip_ws(array.offset + 1);
  if (pos < doc_.size() && doc_[pos] == ']') return out;
  for (;;) {
    auto v = scan_value(pos, 1);
    if (!v.ok()) return v.error();
    out.push_back(JsonValue{v->kind, pos, doc_.substr(pos, v->end - pos)});
    pos = skip_ws(v->end);
    if (pos >= doc_.size()) return fail(pos, "unexpected end of input inside an array");
    if (doc_[pos] == ']') return out;
    if (doc_[pos] != ',') return fail(pos, "expected ',' or ']'");
    pos = skip_ws(pos + 1);
  }
}

Result<std::string> JsonScanner::decode_string(const JsonValue& str) const {
  if (str.kind != JsonKind::string) return fail(str.offset, "expected a string");
  std::string out;
  out.reserve(str.text.size());
  auto end = scan_string(str.offset, &out);
  if (!end.ok()) return end.error();
  return out;
}

}  // namespace troupe::cards
