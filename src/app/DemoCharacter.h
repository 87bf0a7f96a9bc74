// The demo character seeded on first start so a new user can chat at once.
// Thread-safety: pure function.
#pragma once

#include "store/Records.h"

namespace troupe::app {

store::Character demo_character(store::Id user_id);

}  // namespace troupe::app
