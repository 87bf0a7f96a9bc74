// llm::Backend: one interface for every text generator (simulator, OpenAI-compatible HTTP).
// Thread-safety: a Backend is shared by all generations; stream() may run concurrently from many
// coroutines on any I/O executor. A stream honours the awaiting coroutine's cancellation (the
// generation's stop): it returns Errc::cancelled within a second and closes its upstream request.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/Result.h"

namespace troupe::llm {

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

struct Request {
  std::vector<ChatMessage> messages;
  int max_tokens = 300;
  double temperature = 0.8;
  double top_p = 0.95;
  std::vector<std::string> stop;
  // For the simulator and logs: who speaks.
  std::string char_name;
  std::string user_name;
  // When continuing a reply: the text already written (the last assistant message).
  std::string continue_from;
};

// Receives generated text pieces in order, on the stream()'s executor.
class TokenSink {
 public:
  virtual ~TokenSink() = default;
  // A sink may hold pieces until the next on_pause() and send them on together.
  virtual void on_token(std::string_view text) = 0;
  // The backend is about to wait (for a timer, a read, its turn on the executor) or has ended:
  // pieces held since the last pause go on now. Backends call it before every wait, so held text
  // never waits with them.
  virtual void on_pause() {}
  // False once the text is no longer wanted (the turn it was for went another way): a backend
  // checks it after each token and then ends the stream as cancelled (Errc::cancelled).
  virtual bool wanted() const { return true; }
};

class Backend {
 public:
  virtual ~Backend() = default;
  // "sim" or "openai"; shown to clients with every generation.
  virtual std::string_view name() const = 0;
  // Streams one reply into `sink`. Ok when the model finished; Errc::cancelled when the awaiting
  // coroutine was cancelled; Errc::upstream / timeout / unavailable on failure (text already
  // delivered to the sink stays delivered).
  virtual boost::asio::awaitable<Status> stream(const Request& request, TokenSink& sink) = 0;
};

}  // namespace troupe::llm
