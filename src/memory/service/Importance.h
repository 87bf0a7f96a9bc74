// Importance: a cheap write-time estimate in [0, 1] of how worth remembering a message is.
// Longer messages, numbers, names (capitalised words inside a sentence) and first-person facts
// ("I am", "my", "I live"...) score higher; questions and very short messages lower.
// Thread-safety: pure function; any thread.
#pragma once

#include <string_view>

namespace troupe::memory {

double importance_of(std::string_view text);

}  // namespace troupe::memory
