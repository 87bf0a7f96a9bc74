#include "llm/SseParser.h"

namespace troupe::llm {

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

Status SseParser::fail(std::string msg) {
  failed_ = true;
  error_ = make_error(Errc::too_large, std::move(msg));
  line_.clear();
  data_.clear();
  event_.clear();
  return error_;
}

Status SseParser::feed(std::string_view chunk, std::vector<SseEvent>& out) {
  if (failed_) return error_;
  std::size_t pos = 0;
  if (skip_lf_ && !chunk.empty()) {
    skip_lf_ = false;
    if (chunk.front() == '\n') pos = 1;
  }
  while (pos < chunk.size()) {
    const std::size_t end = chunk.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) {
      // Unfinished line: keep it for the next chunk, within the line limit.
      const std::size_t rest = chunk.size() - pos;
      if (line_.size() + rest > limits_.max_line) return fail("event stream line too long");
      line_.append(chunk.substr(pos));
      return {};
    }
    std::string_view piece = chunk.substr(pos, end - pos);
    if (line_.size() + piece.size() > limits_.max_line) return fail("event stream line too long");
    Status st;
    if (line_.empty()) {
      st = process_line(piece, out);
    } else {
      line_.append(piece);
      st = process_line(line_, out);
      line_.clear();
    }
    if (!st.ok()) return st;
    pos = end + 1;
    if (chunk[end] == '\r') {
      if (pos == chunk.size()) {
        skip_lf_ = true;  // a LF may still arrive in the next chunk
      } else if (chunk[pos] == '\n') {
        ++pos;
      }
    }
  }
  return {};
}

Status SseParser::process_line(std::string_view line, std::vector<SseEvent>& out) {
  if (first_line_) {
    first_line_ = false;
    if (line.starts_with(kBom)) line.remove_prefix(kBom.size());
  }
  if (line.empty()) {
    dispatch(out);
    return {};
  }
  if (line.front() == ':') return {};  // comment
  std::string_view field = line;
  std::string_view value;
  if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > limits_.max_event)
      return fail("event stream event too large");
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  }
  // "retry" and unknown fields are ignored: reconnection is the caller's policy.
  return {};
}

void SseParser::dispatch(std::vector<SseEvent>& out) {
  if (data_.empty()) {
    event_.clear();
    return;
  }
  data_.pop_back();  // the '\n' after the last data line
  SseEvent ev;
  ev.event = event_.empty() ? std::string("message") : std::move(event_);
  ev.data = std::move(data_);
  ev.id = last_id_;
  out.push_back(std::move(ev));
  event_.clear();
  data_.clear();
}

}  // namespace troupe::llm
