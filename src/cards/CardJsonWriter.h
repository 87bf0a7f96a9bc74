// CardJsonWriter: emits a store::Character as compact V2 or V3 Character Card JSON, splicing the
// raw (untyped) parts back in verbatim.
// Thread-safety: stateless static functions; call from any thread.
#pragma once

#include <string>
#include <string_view>

#include "cards/Cards.h"

namespace troupe::cards {

class CardJsonWriter {
 public:
  static std::string write(const store::Character& c, Spec spec);

  // Appends `s` as a JSON string literal; invalid UTF-8 sequences become U+FFFD.
  static void append_string(std::string& out, std::string_view s);
};

}  // namespace troupe::cards
