// RedisReply: an owned copy of one Redis reply (RESP2), detached from hiredis memory.
// Thread-safety: a plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::sync::redis {

struct RedisReply {
  enum class Type { nil, string, integer, array, status };
  Type type = Type::nil;
  std::string str;            // string and status replies
  std::int64_t integer = 0;   // integer replies
  std::vector<RedisReply> elements;  // array replies

  bool is_nil() const { return type == Type::nil; }
};

}  // namespace troupe::sync::redis
