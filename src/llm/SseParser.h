// SseParser: incremental text/event-stream parser (WHATWG "server-sent events" rules) that accepts
// input split anywhere and caps line and event sizes instead of growing without bound.
// Thread-safety: not thread-safe; one parser per stream, used by one coroutine at a time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/Result.h"

namespace troupe::llm {

struct SseEvent {
  std::string event;  // "message" unless an `event:` field named it
  std::string data;   // `data:` lines joined by '\n'
  std::string id;     // the last event id seen on the stream (persists across events)

  friend bool operator==(const SseEvent&, const SseEvent&) = default;
};

struct SseLimits {
  std::size_t max_line = 256u << 10;  // one line without its terminator
  std::size_t max_event = 1u << 20;   // accumulated data of one event
};

class SseParser {
 public:
  explicit SseParser(SseLimits limits = {}) : limits_(limits) {}

  // Parses `chunk` and appends every completed event to `out`. Errc::too_large once a line or an
  // event exceeds its limit; the error is sticky (later feeds return it again and parse nothing).
  Status feed(std::string_view chunk, std::vector<SseEvent>& out);

  // True after an error; the stream should be abandoned.
  bool failed() const noexcept { return failed_; }
  // Bytes held for an unfinished line or event (for tests and diagnostics).
  std::size_t buffered() const noexcept { return line_.size() + data_.size(); }

 private:
  Status fail(std::string msg);
  Status process_line(std::string_view line, std::vector<SseEvent>& out);
  void dispatch(std::vector<SseEvent>& out);

  SseLimits limits_;
  std::string line_;        // unfinished line carried over from earlier chunks
  std::string event_;       // event type buffer
  std::string data_;        // data buffer (each line followed by '\n')
  std::string last_id_;     // last event id buffer
  bool skip_lf_ = false;    // the previous chunk ended with CR: a leading LF belongs to it
  bool first_line_ = true;  // a UTF-8 byte order mark may start the stream
  bool failed_ = false;
  Error error_;
};

}  // namespace troupe::llm
