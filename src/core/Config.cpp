#include "core/Config.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <functional>
#include <map>
#include <toml++/toml.h>

namespace troupe {

namespace {

using Setter = std::function<Status(Config&, const std::string&)>;

template <class T>
Status parse_number(const std::string& key, const std::string& v, T& out) {
  if constexpr (std::is_floating_point_v<T>) {
    try {
      std::size_t pos = 0;
      double d = std::stod(v, &pos);
      if (pos != v.size()) throw std::invalid_argument(v);
      out = static_cast<T>(d);
      return {};
    } catch (...) {
      return make_error(Errc::bad_request, "config " + key + ": not a number: " + v);
    }
  } else {
    T tmp{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), tmp);
    if (ec != std::errc() || p != v.data() + v.size()) {
      return make_error(Errc::bad_request, "config " + key + ": not an integer: " + v);
    }
    out = tmp;
    return {};
  }
}

#define NUM(key, field)                                                  \
  {key, [](Config& c, const std::string& v) { return parse_number(key, v, c.field); }}
#define BOOL(key, field)                                                        \
  {key, [](Config& c, const std::string& v) -> Status {                        \
     if (v == "1" || v == "true") { c.field = true; return {}; }               \
     if (v == "0" || v == "false") { c.field = false; return {}; }             \
     return make_error(Errc::bad_request, std::string("config ") + key + ": not a boolean: " + v); \
   }}
#define STR(key, field) \
  {key, [](Config& c, const std::string& v) -> Status { c.field = v; return {}; }}

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> m = {
      STR("server.listen", server.listen),
      NUM("server.io_threads", server.io_threads),
      NUM("server.max_body_bytes", server.max_body_bytes),
      NUM("server.max_header_bytes", server.max_header_bytes),
      NUM("server.request_timeout_ms", server.request_timeout_ms),
      NUM("server.idle_timeout_ms", server.idle_timeout_ms),
      NUM("server.handshake_timeout_ms", server.handshake_timeout_ms),
      NUM("server.max_connections", server.max_connections),
      NUM("server.ws_max_message_bytes", server.ws_max_message_bytes),
      NUM("server.keepalive_interval_ms", server.keepalive_interval_ms),
      NUM("server.shutdown_grace_ms", server.shutdown_grace_ms),
      NUM("server.subscriber_queue", server.subscriber_queue),
      STR("server.web_dir", server.web_dir),
      NUM("server.memory_limit_bytes", server.memory_limit_bytes),
      NUM("server.memory_soft_percent", server.memory_soft_percent),
      NUM("server.memory_check_interval_ms", server.memory_check_interval_ms),
      NUM("limits.user_requests_per_second", limits.user_requests_per_second),
      NUM("limits.user_burst", limits.user_burst),
      NUM("limits.user_generations", limits.user_generations),
      NUM("limits.ip_connections", limits.ip_connections),
      STR("store.data_dir", store.data_dir),
      NUM("store.db_threads", store.db_threads),
      STR("store.url", store.url),
      BOOL("store.sqlite_coalesce_wal", store.sqlite_coalesce_wal),
      STR("bus.url", bus.url),
      NUM("bus.lock_ttl_ms", bus.lock_ttl_ms),
      STR("llm.backend", llm.backend),
      STR("llm.base_url", llm.base_url),
      STR("llm.api_key", llm.api_key),
      STR("llm.model", llm.model),
      NUM("llm.temperature", llm.temperature),
      NUM("llm.top_p", llm.top_p),
      NUM("llm.max_tokens", llm.max_tokens),
      NUM("llm.context_size", llm.context_size),
      NUM("llm.connect_timeout_ms", llm.connect_timeout_ms),
      NUM("llm.first_token_timeout_ms", llm.first_token_timeout_ms),
      NUM("llm.idle_timeout_ms", llm.idle_timeout_ms),
      NUM("llm.retries", llm.retries),
      NUM("llm.sim_first_token_ms", llm.sim_first_token_ms),
      NUM("llm.sim_token_delay_ms", llm.sim_token_delay_ms),
      NUM("llm.sim_reply_tokens", llm.sim_reply_tokens),
      NUM("generation.max_duration_ms", generation.max_duration_ms),
      NUM("generation.flush_interval_ms", generation.flush_interval_ms),
      NUM("generation.replay_events", generation.replay_events),
      BOOL("generation.early_start", generation.early_start),
      STR("generation.system_prompt", generation.system_prompt),
      BOOL("memory.enabled", memory.enabled),
      STR("memory.embedder", memory.embedder),
      STR("memory.glove_path", memory.glove_path),
      STR("memory.openai_url", memory.openai_url),
      STR("memory.openai_model", memory.openai_model),
      STR("memory.openai_api_key", memory.openai_api_key),
      NUM("memory.openai_timeout_ms", memory.openai_timeout_ms),
      NUM("memory.openai_batch", memory.openai_batch),
      STR("memory.scope", memory.scope),
      NUM("memory.top_k", memory.top_k),
      NUM("memory.candidates", memory.candidates),
      NUM("memory.token_budget", memory.token_budget),
      NUM("memory.weight_relevance", memory.weight_relevance),
      NUM("memory.weight_recency", memory.weight_recency),
      NUM("memory.weight_importance", memory.weight_importance),
      NUM("memory.recency_half_life_hours", memory.recency_half_life_hours),
      NUM("memory.search_timeout_ms", memory.search_timeout_ms),
      NUM("memory.compute_threads", memory.compute_threads),
      NUM("memory.max_queue", memory.max_queue),
      NUM("memory.batch_window_us", memory.batch_window_us),
      NUM("memory.batch_max", memory.batch_max),
      NUM("memory.int8_threshold", memory.int8_threshold),
      NUM("memory.hnsw_threshold", memory.hnsw_threshold),
      STR("memory.index_override", memory.index_override),
      NUM("memory.hnsw_m", memory.hnsw_m),
      NUM("memory.hnsw_ef_construction", memory.hnsw_ef_construction),
      NUM("memory.hnsw_ef_search", memory.hnsw_ef_search),
      BOOL("memory.hnsw_int8", memory.hnsw_int8),
      NUM("memory.ivf_nlist", memory.ivf_nlist),
      NUM("memory.ivf_nprobe", memory.ivf_nprobe),
      NUM("memory.int8_rerank", memory.int8_rerank),
      NUM("memory.cache_ttl_ms", memory.cache_ttl_ms),
      NUM("memory.cache_entries", memory.cache_entries),
      NUM("memory.resident_spaces", memory.resident_spaces),
      NUM("memory.lru_k", memory.lru_k),
      NUM("memory.breaker_failures", memory.breaker_failures),
      NUM("memory.breaker_open_ms", memory.breaker_open_ms),
      NUM("memory.slow_search_ms", memory.slow_search_ms),
      STR("log.level", log_level),
  };
  return m;
}

#undef NUM
#undef STR
#undef BOOL

std::string node_to_string(const toml::node& n) {
  if (auto s = n.as_string()) return s->get();
  if (auto i = n.as_integer()) return std::to_string(i->get());
  if (auto f = n.as_floating_point()) return std::to_string(f->get());
  if (auto b = n.as_boolean()) return b->get() ? "1" : "0";
  return {};
}

}  // namespace

Status Config::set(const std::string& dotted_key, const std::string& value) {
  auto it = setters().find(dotted_key);
  if (it == setters().end()) {
    return make_error(Errc::bad_request, "unknown config key: " + dotted_key);
  }
  return it->second(*this, value);
}

std::vector<std::string> Config::keys() {
  std::vector<std::string> out;
  for (auto& [k, _] : setters()) out.push_back(k);
  return out;
}

Status Config::apply_toml_text(const std::string& text, const std::string& origin) {
  toml::table tbl;
  try {
    tbl = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return make_error(Errc::bad_request, std::string("config ") + origin + ": " +
                                             std::string(e.description()));
  }
  for (auto& [section, node] : tbl) {
    auto* sub = node.as_table();
    if (!sub) {
      return make_error(Errc::bad_request,
                        "config " + origin + ": top-level key '" + std::string(section.str()) +
                            "' must be a [section]");
    }
    for (auto& [key, val] : *sub) {
      std::string dotted = std::string(section.str()) + "." + std::string(key.str());
      std::string s = node_to_string(val);
      if (s.empty() && !val.is_string()) {
        return make_error(Errc::bad_request, "config " + origin + ": bad value for " + dotted);
      }
      TROUPE_TRY_STATUS(set(dotted, s));
    }
  }
  return {};
}

Status Config::apply_toml_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return make_error(Errc::bad_request, "cannot open config file " + path);
  std::string text;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
    if (text.size() > (1u << 20)) {
      std::fclose(f);
      return make_error(Errc::too_large, "config file larger than 1 MiB: " + path);
    }
  }
  std::fclose(f);
  return apply_toml_text(text, path);
}

Status Config::apply_env(char** env) {
  if (!env) return {};
  for (char** e = env; *e; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("TROUPE_", 0) != 0) continue;
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(kv.substr(7, eq - 7));
    std::string value(kv.substr(eq + 1));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    // First underscore separates the section: SERVER_LISTEN -> server.listen.
    auto us = name.find('_');
    if (us == std::string::npos) continue;
    std::string dotted = name.substr(0, us) + "." + name.substr(us + 1);
    if (!setters().count(dotted)) continue;  // other TROUPE_* variables are not ours
    TROUPE_TRY_STATUS(set(dotted, value));
  }
  return {};
}

}  // namespace troupe
