// Text for the turn floor: add() (parts appended to a string), integers, JSON escaping, the
// simulated reply's words, and JsonObject (a request body, checked whole).
// Thread-safety: the functions are stateless (any thread); a JsonObject belongs to its caller.
#pragma once

#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace troupe_turn_floor {

using Null = std::optional<std::int64_t>;  // a JSON number or null

// Appends each part: text (and chars) as it is, integers in decimal, a Null as a number or "null".
template <class... Ts>
void add(std::string& o, const Ts&... parts) {
  auto one = [&o](const auto& x) {
    using T = std::decay_t<decltype(x)>;
    if constexpr (std::is_same_v<T, Null>) {
      if (!x) return void(o += "null");
      char b[24];
      o.append(b, std::to_chars(b, b + sizeof b, *x).ptr);
    } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, char>) {
      char b[24];
      o.append(b, std::to_chars(b, b + sizeof b, x).ptr);
    } else {
      o += x;
    }
  };
  (one(parts), ...);
}

// Whether s is exactly a decimal integer (out: its value).
bool parse_int(std::string_view s, std::int64_t& out);
// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);
// s as the inside of a JSON string.
std::string json_escape(std::string_view s);

// The simulated reply's words (raw text, escaped once at start): token i of generation g is word
// (7g + i) mod 24, so replies differ from turn to turn.
inline constexpr const char* kWords[] = {
    "\"Nobody", " here",   " talks",    " about",   " the",  " lantern", ",\"",   " the",
    " bard",    " says",   ", leaning", " closer.", "\n\n",  "*She",     " taps", " the",
    " table",   " twice*", " \"Ask",    " again",   " when", " the",     " rain", " stops.\""};

// Request bodies: one JSON object, checked whole; its top-level members are kept as raw text.
// String values stay escaped, so they are copied into answers, events and the log as they came.

class JsonObject {
 public:
  bool parse(std::string_view s) {
    s_ = s;
    i_ = 0;
    ws();
    return at('{') && value(0, true) && (ws(), i_ == s_.size());
  }
  const std::string_view* str(std::string_view key) const {
    for (const auto& m : members_)
      if (m.key == key && m.is_string) return &m.value;
    return nullptr;
  }
  bool integer(std::string_view key, std::int64_t& out) const {
    for (const auto& m : members_)
      if (m.key == key && !m.is_string) return parse_int(m.value, out);
    return false;
  }

 private:
  struct Member {
    std::string_view key, value;
    bool is_string;
  };
  bool more() const { return i_ < s_.size(); }
  bool at(char c) const { return more() && s_[i_] == c; }
  bool digit() const { return more() && s_[i_] >= '0' && s_[i_] <= '9'; }
  void digits() {
    while (digit()) ++i_;
  }
  void ws() {
    while (more() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) ++i_;
  }
  bool string(std::string_view& raw) {  // at the opening quote; raw: the text between the quotes
    const std::size_t start = ++i_;
    for (; more(); ++i_) {
      const auto ch = static_cast<unsigned char>(s_[i_]);
      if (ch == '"') return raw = s_.substr(start, i_++ - start), true;
      if (ch < 0x20) return false;
      if (ch != '\\') continue;
      if (++i_ >= s_.size()) return false;
      if (s_[i_] == 'u') {
        for (int k = 0; k < 4; ++k)
          if (++i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_]))) return false;
      } else if (std::string_view("\"\\/bfnrt").find(s_[i_]) == std::string_view::npos) {
        return false;
      }
    }
    return false;
  }
  bool number() {
    if (at('-')) ++i_;
    if (!digit()) return false;
    if (at('0'))
      ++i_;
    else
      digits();
    if (at('.') && (++i_, !digit())) return false;
    digits();
    if (at('e') || at('E')) {
      ++i_;
      if (at('+') || at('-')) ++i_;
      if (!digit()) return false;
      digits();
    }
    return true;
  }
  // Any value; `top`: the body itself, which must be an object whose members are recorded.
  bool value(int depth, bool top = false) {
    ws();
    std::string_view raw;
    if (depth > 32 || !more()) return false;
    if (at('"')) return string(raw);
    if (!at('{') && !at('[')) {
      for (std::string_view lit : {"true", "false", "null"})
        if (s_.substr(i_, lit.size()) == lit) return i_ += lit.size(), true;
      return number();
    }
    const bool object = at('{');
    const char close = object ? '}' : ']';
    ++i_;
    ws();
    if (at(close)) return ++i_, true;
    for (;;) {
      std::string_view key;
      if (object) {
        ws();
        if (!at('"') || !string(key)) return false;
        ws();
        if (!at(':')) return false;
        ++i_;
      }
      ws();
      const std::size_t start = i_;
      const bool is_string = at('"');
      if (!value(depth + 1)) return false;
      if (top && object) {
        members_.push_back(is_string ? Member{key, s_.substr(start + 1, i_ - start - 2), true}
                                     : Member{key, s_.substr(start, i_ - start), false});
      }
      ws();
      if (at(close)) return ++i_, true;
      if (!at(',')) return false;
      ++i_;
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::vector<Member> members_;
};

}  // namespace troupe_turn_floor
