// Config: every tunable of the server. Sources in increasing precedence: built-in defaults, a TOML
// file, TROUPE_* environment variables, command-line flags (applied by the app).
// Thread-safety: a plain value; built once at start-up, then read-only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/Result.h"

namespace troupe {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  int io_threads = 0;                        // 0 = hardware concurrency
  std::uint64_t max_body_bytes = 16u << 20;  // 413 above
  std::uint32_t max_header_bytes = 16u << 10;
  std::uint32_t request_timeout_ms = 30'000;  // whole request read
  std::uint32_t idle_timeout_ms = 60'000;     // keep-alive idle / WebSocket idle
  std::uint32_t handshake_timeout_ms = 10'000;
  std::uint32_t max_connections = 10'000;  // 503 + Retry-After above
  std::uint32_t ws_max_message_bytes = 64u << 10;  // close 1009 above
  std::uint32_t keepalive_interval_ms = 15'000;    // SSE comments / WebSocket pings
  std::uint32_t shutdown_grace_ms = 5'000;
  std::uint32_t subscriber_queue = 4096;  // events buffered per slow subscriber
  std::string web_dir;  // the browser UI's files; "" = the web/ folder of the source tree
  std::uint64_t memory_limit_bytes = 0;           // memory budget on RSS; 0 = off
  std::uint32_t memory_soft_percent = 85;         // trim caches/pools at or above this share
  std::uint32_t memory_check_interval_ms = 1000;  // how often RSS is sampled
};

struct LimitsConfig {
  double user_requests_per_second = 50;  // per user token bucket; 0 = off (429 beyond)
  double user_burst = 100;
  int user_generations = 4;        // concurrent generations per user (429 beyond)
  std::uint32_t ip_connections = 512;  // open connections per client IP (429 beyond)
};

struct StoreConfig {
  std::string data_dir = "./data";
  // "" or "sqlite" = the embedded SQLite store under data_dir; "postgres://..." (or
  // "postgresql://...") = the shared PostgreSQL store, with db_threads pooled connections.
  std::string url;
  int db_threads = 8;  // mostly waiting: a write waits for its group commit
  // SQLite: the writer's WAL frames of one commit go to the file in one write call (WalWriteVfs).
  bool sqlite_coalesce_wal = true;
};

// Event bus between the nodes: "" = in-process (single node); "redis://host:port" = Redis.
struct BusConfig {
  std::string url;
  // Redis bus: a chat's generation lease lives this long without renewal (renewed every third of
  // it); a node that dies frees its chats after at most this long.
  std::uint32_t lock_ttl_ms = 10'000;
};

struct LlmConfig {
  std::string backend = "sim";  // "sim" | "openai"
  std::string base_url;         // e.g. http://127.0.0.1:8081/v1 (setting it selects "openai")
  std::string api_key;
  std::string model = "default";
  double temperature = 0.8;
  double top_p = 0.95;
  int max_tokens = 300;
  int context_size = 8192;
  std::uint32_t connect_timeout_ms = 5'000;
  std::uint32_t first_token_timeout_ms = 60'000;
  std::uint32_t idle_timeout_ms = 30'000;
  int retries = 2;  // only before the first token
  // Simulator.
  std::uint32_t sim_first_token_ms = 150;
  std::uint32_t sim_token_delay_ms = 30;
  int sim_reply_tokens = 64;
};

struct GenerationConfig {
  std::uint32_t max_duration_ms = 300'000;
  std::uint32_t flush_interval_ms = 1'000;  // partial text persisted this often
  std::uint32_t replay_events = 2048;       // per-chat ring for resume
  // A reply turn's generation starts while the turn's write is queued (its events are held until
  // the turn is durable; a reply ready in time is stored in the turn's commit). SQLite only.
  bool early_start = true;
  std::string system_prompt =
      "Write {{char}}'s next reply in a fictional chat between {{char}} and {{user}}.";
};

// Character memory: embedder, retrieval ranking, vector engine and fallback.
struct MemoryConfig {
  bool enabled = true;
  std::string embedder = "glove";  // "glove" | "openai"
  std::string glove_path;          // "" = the build's default (build/glove/glove-6b-100d.tvec)
  std::string openai_url;          // e.g. http://127.0.0.1:8081/v1
  std::string openai_model = "text-embedding-3-small";
  std::string openai_api_key;
  std::uint32_t openai_timeout_ms = 5'000;
  int openai_batch = 64;
  std::string scope = "character";  // "character" (user x character) | "chat"
  int top_k = 6;                    // memories put into a prompt
  int candidates = 64;              // vector / keyword candidates ranked per retrieval
  int token_budget = 400;           // prompt tokens for the memories section
  double weight_relevance = 1.0;
  double weight_recency = 0.3;
  double weight_importance = 0.2;
  double recency_half_life_hours = 72;
  std::uint32_t search_timeout_ms = 50;  // vector search deadline; keyword fallback past it
  int compute_threads = 0;               // embedding + search pool; 0 = hardware concurrency
  std::size_t max_queue = 1024;          // queued searches before `unavailable`
  std::uint32_t batch_window_us = 200;   // micro-batching window
  std::size_t batch_max = 32;
  std::size_t int8_threshold = 8'000;    // spaces at least this big use int8 scan + re-rank
  std::size_t hnsw_threshold = 30'000;   // ... and at least this big use HNSW
  std::string index_override;            // "" | "exact" | "exact-int8" | "hnsw" | "ivf" | "ivf-int8"
  int hnsw_m = 16;
  int hnsw_ef_construction = 100;
  int hnsw_ef_search = 64;
  bool hnsw_int8 = true;  // HNSW over int8 codes with float re-rank (faster, ~1 KB/vector)
  int ivf_nlist = 0;  // 0 = about 4 * sqrt(n) (ivf), sqrt(n) (ivf-int8)
  int ivf_nprobe = 16;
  int int8_rerank = 8;  // exact-int8 / ivf-int8: candidates per wanted hit re-ranked in float32
  std::uint32_t cache_ttl_ms = 30'000;   // retrieval result cache; invalidated on space change
  std::size_t cache_entries = 4096;
  std::size_t resident_spaces = 256;     // indexes kept in memory (LRU-K)
  int lru_k = 2;
  int breaker_failures = 5;              // consecutive failures/timeouts that open the breaker
  std::uint32_t breaker_open_ms = 10'000;
  std::uint32_t slow_search_ms = 20;     // searches slower than this are logged (sampled)
};

struct Config {
  ServerConfig server;
  LimitsConfig limits;
  StoreConfig store;
  BusConfig bus;
  LlmConfig llm;
  GenerationConfig generation;
  MemoryConfig memory;
  std::string log_level = "info";

  // Applies a TOML document (keys as in docs/CONFIG in README). Unknown keys are errors.
  Status apply_toml_file(const std::string& path);
  Status apply_toml_text(const std::string& text, const std::string& origin);
  // Applies TROUPE_<SECTION>_<KEY> variables from `environ` (e.g. TROUPE_SERVER_LISTEN).
  Status apply_env(char** environ_ptr);
  // Sets one key by dotted name ("server.listen"); used by env and flags.
  Status set(const std::string& dotted_key, const std::string& value);
  // All known dotted keys (for docs and errors).
  static std::vector<std::string> keys();
};

}  // namespace troupe
