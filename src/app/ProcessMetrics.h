// ProcessMetrics: scrape-time gauges about the process (RSS, open file descriptors, CPU seconds),
// the allocator (jemalloc allocated/active/resident/retained, when linked) and live tasks by name.
// Thread-safety: register once at start-up; the collectors run on the scraping thread.
#pragma once

#include "core/Metrics.h"
#include "core/TaskRegistry.h"

namespace troupe::app {

void register_process_metrics(MetricsRegistry& metrics, TaskRegistry& tasks);

}  // namespace troupe::app
