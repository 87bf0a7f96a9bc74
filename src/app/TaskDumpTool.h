// TaskDumpTool: `troupe tasks` — reads live task dumps (from a running server's /debug/tasks or from
// saved JSON files) and prints the analysis an operator needs: groups by name and state, the owners
// holding the most tasks, tasks past their deadline, and growth between two dumps.
// Thread-safety: single-threaded command-line code.
#pragma once

#include <string>

namespace troupe::app {

struct TaskDumpOptions {
  std::string url;      // e.g. http://127.0.0.1:8080 (fetches /debug/tasks?format=json&debug=2)
  std::string token;    // admin token (or env TROUPE_TOKEN)
  std::string file;     // a saved dump instead of --url
  std::string compare;  // a second saved dump: growth from `file`/first fetch to this one
  int interval_s = 0;   // with --url: fetch twice, this many seconds apart, and show growth
  std::string save;     // write the (last) fetched dump here
  int top = 10;
};

// Returns the process exit code; prints to stdout/stderr.
int run_task_dump_tool(const TaskDumpOptions& opts);

}  // namespace troupe::app
