// JsonEventFormatter: chat::EventFormatter in JSON; produces the members of event objects (the
// records of every turn written by hand through JsonWriter, the rest through Boost.JSON).
// Thread-safety: stateless; any thread.
#pragma once

#include "chat/EventFormatter.h"

namespace troupe::api {

class JsonEventFormatter final : public chat::EventFormatter {
 public:
  std::string message(const store::Message& m) const override;
  std::string generation(const store::Generation& g) const override;
  std::string chat(const store::Chat& c, std::int64_t last_seq) const override;
  std::string token(store::Id generation_id, store::Id message_id,
                    std::string_view text) const override;
  // Appends digits and an escaped JSON string by hand: no allocation once `out` has grown.
  void append_token(std::string& out, store::Id generation_id, store::Id message_id,
                    std::string_view text) const override;
  std::string finished(const store::Generation& g, const store::Message& m) const override;
  std::string message_deleted(store::Id message_id) const override;
};

}  // namespace troupe::api
