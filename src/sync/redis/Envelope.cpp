#include "sync/redis/Envelope.h"

#include <charconv>

namespace troupe::sync::redis {
namespace {

bool parse_i64(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

}  // namespace

bool parse_envelope(std::string_view p, Envelope& out) {
  auto s1 = p.find(' ');
  if (s1 == std::string_view::npos) return false;
  auto s2 = p.find(' ', s1 + 1);
  if (s2 == std::string_view::npos || s2 == s1 + 1) return false;
  std::string_view head = p.substr(0, s1);
  auto colon = head.find(':');
  out.published_us = 0;
  if (colon != std::string_view::npos) {
    if (!parse_i64(head.substr(colon + 1), out.published_us) || out.published_us < 0) return false;
    head = head.substr(0, colon);
  }
  if (!parse_i64(head, out.seq)) return false;
  out.type = p.substr(s1 + 1, s2 - s1 - 1);
  out.json = p.substr(s2 + 1);
  return true;
}

std::string format_envelope(std::int64_t seq, std::int64_t published_us, std::string_view type,
                            std::string_view json) {
  std::string s = std::to_string(seq);
  s += ':';
  s += std::to_string(published_us);
  s += ' ';
  s += type;
  s += ' ';
  s += json;
  return s;
}

}  // namespace troupe::sync::redis
