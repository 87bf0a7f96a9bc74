// JsonWriter: appends JSON text by hand for the records that go out with every turn (a message,
// a generation, a token's members), without building a Boost.JSON tree. The output is byte for
// byte what serializing JsonCodec's to_json() gives (same members, same order, same escaping);
// a unit test holds the two together.
// Thread-safety: plain functions over the caller's string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/Records.h"

namespace troupe::api {

void append_json_int(std::string& out, std::int64_t v);
// A JSON string literal: quotes, backslashes and control characters escaped; other bytes (UTF-8)
// as they are, as Boost.JSON's serializer writes them.
void append_json_string(std::string& out, std::string_view s);
// {"id":..,"chat_id":..,...}: to_json(const store::Message&) serialized.
void append_json(std::string& out, const store::Message& m);
// to_json(const store::Generation&) serialized.
void append_json(std::string& out, const store::Generation& g);

}  // namespace troupe::api
