// UpstreamUrl: the parts of an OpenAI-compatible base URL (http or https) needed to connect.
// Thread-safety: a plain value type.
#pragma once

#include <string>
#include <string_view>

#include "core/Result.h"

namespace troupe::llm {

struct UpstreamUrl {
  bool tls = false;
  std::string host;       // without brackets for IPv6 literals
  std::string port;       // "80" / "443" when the URL has none
  std::string base_path;  // without trailing '/', e.g. "/v1" or ""

  // Accepts `http://host[:port][/path]` and `https://...`; Errc::bad_request otherwise.
  static Result<UpstreamUrl> parse(std::string_view url);
  // base_path + suffix, e.g. target("/chat/completions") == "/v1/chat/completions".
  std::string target(std::string_view suffix) const;
  // The Host header value (host[:port], IPv6 bracketed).
  std::string host_header() const;
};

}  // namespace troupe::llm
