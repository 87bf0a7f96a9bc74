// CardJsonReader: turns Character Card JSON (V1, V2 or V3) into a store::Character, typing the
// known fields and keeping everything else as exact source bytes.
// Thread-safety: a reader is used by one thread; read() is a pure function of its arguments.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cards/Cards.h"
#include "cards/JsonScanner.h"

namespace troupe::cards {

class CardJsonReader {
 public:
  // Reads one card. A leading UTF-8 byte order mark is ignored. Errors as import_card's.
  static Result<store::Character> read(std::string_view json, const CardLimits& limits);

 private:
  CardJsonReader(std::string_view json, const CardLimits& limits)
      : scanner_(json, limits.max_json_depth), limits_(limits) {}

  Result<store::Character> run();
  // Types the members of `fields` into `c`; unknown members are appended to `extra` (raw).
  Status read_fields(const std::vector<JsonMember>& fields, bool v1, store::Character& c,
                     std::string& extra) const;
  Status read_string(const JsonMember& m, std::string& out) const;
  Status read_string_list(const JsonMember& m, std::vector<std::string>& out) const;
  Status read_raw_object(const JsonMember& m, std::string& out) const;
  Result<bool> is_empty_array(const JsonValue& v) const;

  JsonScanner scanner_;
  const CardLimits& limits_;
};

}  // namespace troupe::cards
