// EventFormatter: encodes the members of chat events as JSON text ("message":{...}) so the domain
// never includes a JSON library; implemented at the edge (api/).
// Thread-safety: implementations must be callable from any thread concurrently.
#pragma once

#include <string>
#include <string_view>

#include "store/Records.h"

namespace troupe::chat {

class EventFormatter {
 public:
  virtual ~EventFormatter() = default;
  virtual std::string message(const store::Message& m) const = 0;        // "message":{...}
  virtual std::string generation(const store::Generation& g) const = 0;  // "generation":{...}
  // "chat":{...} with `last_seq` as the chat's resume cursor (a seq already handed out).
  virtual std::string chat(const store::Chat& c, std::int64_t last_seq) const = 0;
  virtual std::string token(store::Id generation_id, store::Id message_id,
                            std::string_view text) const = 0;
  // token() appended to `out` (a batch's reused buffer): the per-token path allocates nothing.
  virtual void append_token(std::string& out, store::Id generation_id, store::Id message_id,
                            std::string_view text) const {
    out += token(generation_id, message_id, text);
  }
  // token() into `out` (cleared first).
  void token_into(std::string& out, store::Id generation_id, store::Id message_id,
                  std::string_view text) const {
    out.clear();
    append_token(out, generation_id, message_id, text);
  }
  virtual std::string finished(const store::Generation& g, const store::Message& m) const = 0;
  virtual std::string message_deleted(store::Id message_id) const = 0;
};

}  // namespace troupe::chat
