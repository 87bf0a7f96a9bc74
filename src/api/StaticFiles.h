// StaticFiles: serves the browser UI (web/) at "/" and "/web/...": GET/HEAD only, paths confined
// to the web directory, files cached in memory after the first read (they are small and immutable
// for the life of the process), content types by extension.
// Thread-safety: serve() may run concurrently from any thread (cache under a mutex).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "api/Http.h"

namespace troupe::api {

class StaticFiles {
 public:
  explicit StaticFiles(std::string root);
  // A reply when `path` names the UI ("/" or "/web/..."), nullopt when it is not a UI path.
  std::optional<Reply> serve(const HttpRequest& req, std::string_view path);

 private:
  std::optional<std::string> load(const std::string& rel);
  std::string root_;
  std::mutex mu_;
  std::unordered_map<std::string, std::string> cache_;
};

}  // namespace troupe::api
