#include "api/StaticFiles.h"

#include <fstream>
#include <sstream>

namespace troupe::api {

namespace {

constexpr std::size_t kMaxFile = 4u << 20;

std::string_view content_type(std::string_view path) {
  auto dot = path.rfind('.');
  auto ext = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "json") return "application/json";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  return "application/octet-stream";
}

bool safe_relative(std::string_view rel) {
  if (rel.empty() || rel.size() > 200 || rel.front() == '/') return false;
  for (char c : rel) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return rel.find("..") == std::string_view::npos && rel.find("//") == std::string_view::npos;
}

}  // namespace

StaticFiles::StaticFiles(std::string root) : root_(std::move(root)) {}

std::optional<std::string> StaticFiles::load(const std::string& rel) {
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(rel);
    if (it != cache_.end()) return it->second;
  }
  std::ifstream f(root_ + "/" + rel, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string body = ss.str();
  if (body.size() > kMaxFile) return std::nullopt;
  std::lock_guard lock(mu_);
  cache_.emplace(rel, body);
  return body;
}

std::optional<Reply> StaticFiles::serve(const HttpRequest& req, std::string_view path) {
  std::string rel;
  if (path == "/" || path == "/index.html") {
    rel = "index.html";
  } else if (path.rfind("/web/", 0) == 0) {
    rel = std::string(path.substr(5));
  } else {
    return std::nullopt;
  }
  const bool keep = req.keep_alive();
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    Reply r = error_reply(http::status::method_not_allowed, "method_not_allowed",
                          "only GET and HEAD are allowed here", req.version(), keep);
    r.res.set(http::field::allow, "GET, HEAD");
    return r;
  }
  std::optional<std::string> body;
  if (safe_relative(rel)) body = load(rel);
  if (!body) {
    return error_reply(http::status::not_found, "not_found", "no such file: " + rel, req.version(), keep);
  }
  Reply r;
  r.res.result(http::status::ok);
  r.res.version(req.version());
  r.res.keep_alive(keep);
  r.res.set(http::field::content_type, content_type(rel));
  r.res.set(http::field::cache_control, "no-cache");
  r.res.set("X-Content-Type-Options", "nosniff");
  if (rel == "index.html") {
    r.res.set("Content-Security-Policy",
              "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
              "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'");
  }
  r.res.body() = req.method() == http::verb::head ? std::string() : std::move(*body);
  r.res.prepare_payload();
  if (req.method() == http::verb::head) r.res.content_length(body->size());
  return r;
}

}  // namespace troupe::api
