#include "memory/embed/OpenAiEmbedder.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <optional>

namespace troupe::memory {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); });
}

// Cuts at most `max` bytes without splitting a UTF-8 sequence.
std::string_view cut_utf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

struct HttpResult {
  std::optional<Error> error;
  unsigned status = 0;
  std::string body;
};

}  // namespace

Result<std::unique_ptr<OpenAiEmbedder>> OpenAiEmbedder::create(OpenAiEmbedderOptions opts,
                                                               const Clock& clock) {
  std::string_view url = opts.base_url;
  if (url.starts_with("https://"))
    return make_error(Errc::bad_request, "openai embedder: https is not supported; use http:// (e.g. via a local proxy)");
  if (!url.starts_with("http://")) return make_error(Errc::bad_request, "openai embedder: base_url must start with http://");
  url.remove_prefix(7);
  auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  std::string path = slash == std::string_view::npos ? "" : std::string(url.substr(slash));
  while (!path.empty() && path.back() == '/') path.pop_back();
  Target t;
  t.host_header = std::string(authority);
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error(Errc::bad_request, "openai embedder: bad IPv6 host");
    t.host = std::string(authority.substr(1, close - 1));
    auto rest = authority.substr(close + 1);
    t.port = rest.starts_with(":") ? std::string(rest.substr(1)) : "80";
  } else {
    auto colon = authority.rfind(':');
    t.host = std::string(authority.substr(0, colon));
    t.port = colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
  }
  if (t.host.empty() || t.port.empty() || t.port.size() > 5 ||
      !std::all_of(t.port.begin(), t.port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return make_error(Errc::bad_request, "openai embedder: bad host or port in " + opts.base_url);
  t.path = path + "/embeddings";
  if (opts.model.empty()) return make_error(Errc::bad_request, "openai embedder: model is required");
  if (opts.dims < 0 || opts.dims > 65536) return make_error(Errc::bad_request, "openai embedder: dims out of range");
  if (opts.batch < 1 || opts.batch > 2048) return make_error(Errc::bad_request, "openai embedder: batch must be 1..2048");
  if (opts.timeout_ms < 1 || opts.connect_timeout_ms < 1)
    return make_error(Errc::bad_request, "openai embedder: timeouts must be positive");
  if (opts.max_text_bytes < 16) opts.max_text_bytes = 16;
  return std::unique_ptr<OpenAiEmbedder>(new OpenAiEmbedder(std::move(opts), std::move(t), clock));
}

OpenAiEmbedder::OpenAiEmbedder(OpenAiEmbedderOptions opts, Target target, const Clock& clock)
    : opts_(std::move(opts)), target_(std::move(target)), breaker_(clock, opts_.breaker) {
  info_.name = opts_.name.empty() ? "openai:" + opts_.model : opts_.name;
  info_.dims = opts_.dims;
}

int OpenAiEmbedder::dims() const {
  std::lock_guard lock(dims_mu_);
  return info_.dims;
}

Status OpenAiEmbedder::probe() {
  std::string_view text = "memory probe";
  std::vector<float> rows;
  return request(std::span(&text, 1), rows);
}

Status OpenAiEmbedder::embed(std::span<const std::string_view> texts, std::span<float> out) {
  if (texts.empty()) return {};
  if (dims() == 0) TROUPE_TRY_STATUS(probe());
  const auto d = static_cast<std::size_t>(dims());
  if (out.size() != texts.size() * d)
    return make_error(Errc::internal, "embed: output size does not match texts x dims");
  std::fill(out.begin(), out.end(), 0.0f);
  std::vector<std::string_view> pending;
  std::vector<std::size_t> where;
  std::vector<float> rows;
  auto flush = [&]() -> Status {
    if (pending.empty()) return {};
    TROUPE_TRY_STATUS(request(pending, rows));
    for (std::size_t i = 0; i < pending.size(); ++i)
      std::copy_n(rows.data() + i * d, d, out.data() + where[i] * d);
    pending.clear();
    where.clear();
    return {};
  };
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (blank(texts[i])) continue;
    pending.push_back(cut_utf8(texts[i], opts_.max_text_bytes));
    where.push_back(i);
    if (pending.size() == static_cast<std::size_t>(opts_.batch)) TROUPE_TRY_STATUS(flush());
  }
  return flush();
}

Status OpenAiEmbedder::request(std::span<const std::string_view> texts, std::vector<float>& rows) {
  if (!breaker_.allow())
    return make_error(Errc::unavailable, "embedding endpoint unavailable (circuit open after repeated failures)");
  json::object body;
  body["model"] = opts_.model;
  json::array input;
  for (auto t : texts) input.emplace_back(json::string_view(t.data(), t.size()));
  body["input"] = std::move(input);
  auto reply = post(json::serialize(body));
  Status s = reply.ok() ? parse_reply(*reply, texts.size(), rows) : Status(reply.error());
  if (s.ok()) breaker_.on_success(); else breaker_.on_failure();
  return s;
}

Result<std::string> OpenAiEmbedder::post(const std::string& body) {
  asio::io_context io;
  HttpResult result;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::milliseconds(opts_.timeout_ms);
  const auto connect_deadline = std::min(deadline, start + std::chrono::milliseconds(opts_.connect_timeout_ms));
  auto run = [&]() -> asio::awaitable<void> {
    beast::tcp_stream stream(io);
    tcp::resolver resolver(io);
    stream.expires_at(connect_deadline);
    asio::steady_timer resolve_timer(io, connect_deadline);
    resolve_timer.async_wait([&](boost::system::error_code ec) { if (!ec) resolver.cancel(); });
    auto [rec, endpoints] = co_await resolver.async_resolve(target_.host, target_.port, kTuple);
    resolve_timer.cancel();
    if (rec) {
      result.error = make_error(rec == asio::error::operation_aborted ? Errc::timeout : Errc::upstream,
                                "embedding endpoint: cannot resolve " + target_.host + ": " + rec.message());
      co_return;
    }
    auto [cec, ep] = co_await stream.async_connect(endpoints, kTuple);
    if (cec) {
      result.error = make_error(cec == beast::error::timeout ? Errc::timeout : Errc::upstream,
                                "embedding endpoint: connect failed: " + cec.message());
      co_return;
    }
    stream.expires_at(deadline);
    http::request<http::string_body> req{http::verb::post, target_.path, 11};
    req.set(http::field::host, target_.host_header);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json");
    if (!opts_.api_key.empty()) req.set(http::field::authorization, "Bearer " + opts_.api_key);
    req.body() = body;
    req.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, req, kTuple);
    (void)wn;
    if (wec) {
      result.error = make_error(wec == beast::error::timeout ? Errc::timeout : Errc::upstream,
                                "embedding endpoint: send failed: " + wec.message());
      co_return;
    }
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(opts_.max_response_bytes);
    parser.header_limit(64 * 1024);
    auto [rdec, rn] = co_await http::async_read(stream, buf, parser, kTuple);
    (void)rn;
    if (rdec) {
      result.error = make_error(rdec == beast::error::timeout ? Errc::timeout : Errc::upstream,
                                "embedding endpoint: reading the reply failed: " + rdec.message());
      co_return;
    }
    result.status = parser.get().result_int();
    result.body = std::move(parser.get().body());
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  };
  asio::co_spawn(io, run(), [&](std::exception_ptr e) {
    if (e) result.error = make_error(Errc::internal, "embedding request failed unexpectedly");
  });
  try {
    io.run();
  } catch (...) {
    return make_error(Errc::internal, "embedding request failed unexpectedly");
  }
  if (result.error) return *result.error;
  if (result.status / 100 != 2) {
    std::string snippet = result.body.substr(0, 200);
    return make_error(Errc::upstream,
                      "embedding endpoint answered HTTP " + std::to_string(result.status) + ": " + snippet);
  }
  return std::move(result.body);
}

Status OpenAiEmbedder::parse_reply(const std::string& body, std::size_t n, std::vector<float>& rows) {
  auto bad = [](std::string what) { return make_error(Errc::upstream, "embedding endpoint: " + what); };
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return bad("reply is not a JSON object");
  const json::value* data = v.as_object().if_contains("data");
  if (!data || !data->is_array()) return bad("reply has no \"data\" array");
  const json::array& items = data->as_array();
  if (items.size() != n)
    return bad("asked for " + std::to_string(n) + " embeddings, got " + std::to_string(items.size()));
  int d = dims();
  std::vector<bool> filled(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const json::object* item = items[i].if_object();
    const json::value* emb = item ? item->if_contains("embedding") : nullptr;
    if (!emb || !emb->is_array()) return bad("item " + std::to_string(i) + " has no \"embedding\" array");
    const json::array& arr = emb->as_array();
    if (arr.empty() || arr.size() > 65536) return bad("embedding size out of range");
    if (d == 0) {
      std::lock_guard lock(dims_mu_);
      if (info_.dims == 0) info_.dims = static_cast<int>(arr.size());
      d = info_.dims;
      rows.assign(n * std::size_t(d), 0.0f);
    }
    if (arr.size() != std::size_t(d))
      return bad("embedding has " + std::to_string(arr.size()) + " dimensions, expected " + std::to_string(d));
    if (i == 0) rows.assign(n * std::size_t(d), 0.0f);
    std::size_t slot = i;
    if (const json::value* idx = item->if_contains("index")) {
      if (!idx->is_int64() || idx->as_int64() < 0 || std::size_t(idx->as_int64()) >= n)
        return bad("item index out of range");
      slot = std::size_t(idx->as_int64());
    }
    if (filled[slot]) return bad("duplicate item index");
    filled[slot] = true;
    float* row = rows.data() + slot * std::size_t(d);
    double norm = 0;
    for (std::size_t k = 0; k < arr.size(); ++k) {
      double x;
      if (arr[k].is_double()) x = arr[k].get_double();
      else if (arr[k].is_int64()) x = double(arr[k].get_int64());
      else if (arr[k].is_uint64()) x = double(arr[k].get_uint64());
      else return bad("embedding holds a non-number");
      if (!std::isfinite(x)) return bad("embedding holds a non-finite number");
      row[k] = static_cast<float>(x);
      norm += x * x;
    }
    if (norm > 0 && std::isfinite(norm)) {
      auto inv = static_cast<float>(1.0 / std::sqrt(norm));
      for (int k = 0; k < d; ++k) row[k] *= inv;
    }
  }
  return {};
}

}  // namespace troupe::memory
