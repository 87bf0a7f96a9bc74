// make_profilers(): the gperftools CPU profiler and the jemalloc heap report this binary links,
// packaged for the API's /debug/pprof routes.
// Thread-safety: the returned callables are used one at a time (see api::ProfileRoutes).
#pragma once

#include "api/Services.h"

namespace troupe::app {

api::Profilers make_profilers();

}  // namespace troupe::app
