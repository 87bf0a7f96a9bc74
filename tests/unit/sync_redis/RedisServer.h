// RedisServer: starts a real redis-server for a test on 127.0.0.1 with an ephemeral port, no
// persistence (--save "" --appendonly no), in its own temporary directory; kill/restart on the
// same port simulate an outage. Tests fail (never skip) when redis-server is not installed.
// Thread-safety: used from the test thread only.
#pragma once

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace troupe::sync::redis::testing {

class RedisServer {
 public:
  RedisServer() {
    binary_ = find_binary();
    char tmpl[] = "/tmp/troupe-redis-XXXXXX";
    if (char* d = ::mkdtemp(tmpl)) dir_ = d;
    port_ = free_port();
  }
  ~RedisServer() {
    stop();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Empty when redis-server was found; otherwise what to do.
  std::string missing() const {
    return binary_.empty() ? "redis-server not found in PATH (scripts/install-deps installs it)"
                           : "";
  }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  // Starts (or restarts, same port) and waits until it answers PING. False on failure. The first
  // start retries on other ports (another process may have taken the probed one).
  bool start() {
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (start_once()) {
        started_once_ = true;
        return true;
      }
      if (started_once_) return false;  // a restart keeps its port
      port_ = free_port();
    }
    return false;
  }
  bool start_once() {
    if (binary_.empty() || dir_.empty() || port_ <= 0 || pid_ > 0) return false;
    std::string port = std::to_string(port_);
    std::string log = dir_ + "/redis.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<std::string> args{binary_, "--port", port, "--bind", "127.0.0.1",
                                    "--save", "", "--appendonly", "no", "--dir", dir_,
                                    "--daemonize", "no", "--logfile", log,
                                    "--enable-debug-command", "local"};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(binary_.c_str(), argv.data());
      ::_exit(127);
    }
    if (pid_ < 0) return false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (ping()) {
        // Ours, not another server that already held the port.
        if (query({"INFO", "server"}).find("process_id:" + std::to_string(pid_) + "\r\n") !=
            std::string::npos) {
          return true;
        }
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    signal_and_wait(SIGKILL);
    return false;
  }
  // SIGKILL: the data (no persistence) is gone, clients see the connection drop.
  void kill() { signal_and_wait(SIGKILL); }
  void stop() { signal_and_wait(SIGTERM); }

  // A synchronous command for checks from the test thread; the reply as text ("" on error).
  std::string query(const std::vector<std::string>& args) const {
    redisContext* c = connect();
    if (!c) return "";
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    std::string out;
    if (r) {
      if (r->type == REDIS_REPLY_INTEGER) out = std::to_string(r->integer);
      if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) out.assign(r->str, r->len);
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
          r->element[1]->type == REDIS_REPLY_INTEGER) {
        out = std::to_string(r->element[1]->integer);  // PUBSUB NUMSUB channel
      }
      freeReplyObject(r);
    }
    redisFree(c);
    return out;
  }

 private:
  static std::string find_binary() {
    const char* path = std::getenv("PATH");
    std::string p = path ? path : "/usr/bin:/bin";
    p += ":/usr/sbin:/usr/local/bin";
    std::size_t start = 0;
    while (start <= p.size()) {
      auto end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      std::string cand = p.substr(start, end - start) + "/redis-server";
      if (::access(cand.c_str(), X_OK) == 0) return cand;
      start = end + 1;
    }
    return "";
  }
  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
    ::close(fd);
    return port;
  }
  redisContext* connect() const {
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (c && c->err) {
      redisFree(c);
      return nullptr;
    }
    return c;
  }
  bool ping() const { return query({"PING"}) == "PONG"; }
  void signal_and_wait(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string binary_;
  std::string dir_;
  int port_ = -1;
  pid_t pid_ = -1;
  bool started_once_ = false;
};

}  // namespace troupe::sync::redis::testing
