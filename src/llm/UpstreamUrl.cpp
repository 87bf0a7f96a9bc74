#include "llm/UpstreamUrl.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace troupe::llm {

Result<UpstreamUrl> UpstreamUrl::parse(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed)
    return make_error(Errc::bad_request, "llm.base_url is not a URL: " + std::string(url));
  const boost::urls::url_view& u = *parsed;
  UpstreamUrl out;
  const std::string scheme(u.scheme());
  if (scheme == "https") {
    out.tls = true;
  } else if (scheme != "http") {
    return make_error(Errc::bad_request, "llm.base_url must be http:// or https://");
  }
  if (u.host_type() == boost::urls::host_type::ipv6) {
    std::string h(u.encoded_host());  // "[::1]"
    out.host = h.size() >= 2 ? h.substr(1, h.size() - 2) : h;
  } else {
    out.host = std::string(u.encoded_host());
  }
  if (out.host.empty()) return make_error(Errc::bad_request, "llm.base_url has no host");
  out.port = u.has_port() && !u.port().empty() ? std::string(u.port()) : (out.tls ? "443" : "80");
  out.base_path = std::string(u.encoded_path());
  while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
  return out;
}

std::string UpstreamUrl::target(std::string_view suffix) const {
  std::string t = base_path;
  t.append(suffix);
  return t;
}

std::string UpstreamUrl::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  const bool default_port = (tls && port == "443") || (!tls && port == "80");
  if (!default_port) h += ":" + port;
  return h;
}

}  // namespace troupe::llm
