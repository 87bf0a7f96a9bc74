#include "app/TaskDumpTool.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

namespace troupe::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

namespace {

struct Dump {
  std::int64_t total = 0;
  // name|state -> count
  std::map<std::pair<std::string, std::string>, std::int64_t> groups;
  std::map<std::string, std::int64_t> owners;
  std::vector<std::string> past_deadline;
};

bool fetch(const TaskDumpOptions& o, std::string& body, std::string& err) {
  auto u = boost::urls::parse_uri(o.url);
  if (!u || u->scheme() != "http") {
    err = "--url must be an http:// URL";
    return false;
  }
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(10));
    std::string port = u->has_port() ? std::string(u->port()) : "80";
    stream.connect(resolver.resolve(std::string(u->host()), port));
    http::request<http::empty_body> req{http::verb::get, "/debug/tasks?format=json&debug=2", 11};
    req.set(http::field::host, std::string(u->host()));
    req.set(http::field::authorization, "Bearer " + o.token);
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    http::read(stream, buf, parser);
    auto res = parser.release();
    if (res.result() != http::status::ok) {
      err = "server answered " + std::to_string(res.result_int()) + ": " + res.body();
      return false;
    }
    body = std::move(res.body());
    return true;
  } catch (const std::exception& e) {
    err = e.what();
    return false;
  }
}

bool parse(const std::string& text, Dump& d, std::string& err) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object() || !v.as_object().contains("tasks")) {
    err = "not a task dump with every task (save one with ?format=json&debug=2)";
    return false;
  }
  auto& o = v.as_object();
  d.total = o.contains("total") ? o.at("total").to_number<std::int64_t>() : 0;
  for (auto& t : o.at("tasks").as_array()) {
    auto& to = t.as_object();
    std::string name(to.at("name").as_string()), state(to.at("state").as_string()), owner(to.at("owner").as_string());
    ++d.groups[{name, state}];
    ++d.owners[owner];
    if (to.at("past_deadline").as_bool()) {
      std::ostringstream line;
      line << name << " owner=" << owner << " state=" << state << " age=" << to.at("age_seconds").to_number<double>() << "s";
      d.past_deadline.push_back(line.str());
    }
  }
  return true;
}

bool load(const TaskDumpOptions& o, const std::string& file, Dump& d) {
  std::string text, err;
  if (!file.empty()) {
    std::ifstream f(file);
    if (!f) {
      std::cerr << "troupe tasks: cannot read " << file << "\n";
      return false;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    text = ss.str();
  } else if (!fetch(o, text, err)) {
    std::cerr << "troupe tasks: " << err << "\n";
    return false;
  } else if (!o.save.empty()) {
    std::ofstream(o.save) << text;
  }
  if (!parse(text, d, err)) {
    std::cerr << "troupe tasks: " << err << "\n";
    return false;
  }
  return true;
}

template <class Map>
std::vector<std::pair<typename Map::key_type, std::int64_t>> by_count(const Map& m) {
  std::vector<std::pair<typename Map::key_type, std::int64_t>> v(m.begin(), m.end());
  std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
  return v;
}

void report(const Dump& d, int top) {
  std::cout << d.total << " live task(s)\n\nby name and state:\n";
  for (auto& [k, n] : by_count(d.groups)) std::cout << "  " << n << "\t" << k.first << " [" << k.second << "]\n";
  std::cout << "\ntop owners:\n";
  int i = 0;
  for (auto& [owner, n] : by_count(d.owners)) {
    if (i++ >= top) break;
    std::cout << "  " << n << "\t" << owner << "\n";
  }
  std::cout << "\npast deadline: " << d.past_deadline.size() << "\n";
  for (auto& l : d.past_deadline) std::cout << "  " << l << "\n";
}

void growth(const Dump& a, const Dump& b) {
  std::cout << "\ngrowth: " << a.total << " -> " << b.total << " (" << (b.total - a.total >= 0 ? "+" : "")
            << b.total - a.total << ")\n";
  std::map<std::pair<std::string, std::string>, std::int64_t> diff;
  for (auto& [k, n] : b.groups) diff[k] += n;
  for (auto& [k, n] : a.groups) diff[k] -= n;
  for (auto& [k, n] : by_count(diff)) {
    if (n != 0) std::cout << "  " << (n > 0 ? "+" : "") << n << "\t" << k.first << " [" << k.second << "]\n";
  }
}

}  // namespace

int run_task_dump_tool(const TaskDumpOptions& o) {
  if (o.url.empty() && o.file.empty()) {
    std::cerr << "troupe tasks: give --url (a running server) or --file (a saved dump)\n";
    return 2;
  }
  Dump first;
  if (!load(o, o.file, first)) return 1;
  report(first, o.top);
  if (!o.compare.empty()) {
    Dump second;
    if (!load(o, o.compare, second)) return 1;
    growth(first, second);
  } else if (!o.url.empty() && o.interval_s > 0) {
    std::this_thread::sleep_for(std::chrono::seconds(o.interval_s));
    Dump second;
    if (!load(o, "", second)) return 1;
    growth(first, second);
  }
  return 0;
}

}  // namespace troupe::app
