// ProcessMetrics: scrape-time gauges about the process (RSS, open file descriptors, CPU seconds),
// the allocator (jemalloc allocated/active/resident/retained, when linked) and live tasks by name;
// and the process memory budget.
// Thread-safety: register once at start-up; the collectors run on the scraping thread.
#pragma once

#include <memory>

#include "core/Config.h"
#include "core/MemoryBudget.h"
#include "core/Metrics.h"
#include "core/TaskRegistry.h"

namespace troupe::app {

void register_process_metrics(MetricsRegistry& metrics, TaskRegistry& tasks);

// The memory budget of server.memory_limit_bytes, reading the process RSS, with the allocator's
// purge (jemalloc) or malloc_trim (glibc) registered as its first trim hook. Not started.
std::unique_ptr<MemoryBudget> make_memory_budget(const Config& config, MetricsRegistry& metrics);

}  // namespace troupe::app
