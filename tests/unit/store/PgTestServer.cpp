#include "PgTestServer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace troupe::store::testing {
namespace {

namespace fs = std::filesystem;

struct Identity {
  bool drop = false;  // running as root: children become `postgres`
  uid_t uid = 0;
  gid_t gid = 0;
};

std::string find_bin_dir() {
  if (const char* env = std::getenv("TROUPE_PG_BIN"); env != nullptr && *env != '\0') {
    const std::string bin = env;
    return fs::exists(bin + "/initdb") && fs::exists(bin + "/postgres") ? bin : std::string();
  }
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string bin = e.path().string() + "/bin";
    if (!fs::exists(bin + "/initdb") || !fs::exists(bin + "/postgres")) continue;
    const int v = std::atoi(e.path().filename().c_str());
    if (v > best_version) {
      best_version = v;
      best = bin;
    }
  }
  return best;
}

// Forks and execs `argv` with output appended to `log`; returns the child's pid or -1.
pid_t spawn(const std::vector<std::string>& argv, const Identity& id, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls from here on.
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  if (id.drop) {
    if (setgroups(0, nullptr) != 0 || setgid(id.gid) != 0 || setuid(id.uid) != 0) _exit(126);
  }
  execv(args[0], args.data());
  _exit(127);
}

int free_port() {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(s);
  return port;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Server {
 public:
  ~Server() { stop(); }

  Result<std::string> create_database() {
    std::lock_guard lock(mu_);
    if (pid_ <= 0) {
      if (!dir_.empty()) return make_error(Errc::unavailable, "test server is paused");
      if (auto st = start(); !st.ok()) {
        shutdown();
        std::error_code ec;
        if (!dir_.empty()) fs::remove_all(dir_, ec);
        dir_.clear();
        return st.error();
      }
    }
    const std::string name = "t" + std::to_string(++databases_);
    PGconn* c = PQconnectdb(conninfo("postgres").c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(c);
      PQfinish(c);
      return make_error(Errc::unavailable, "test server: " + msg);
    }
    // The name is generated here (no outside input).
    PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    std::string msg = PQerrorMessage(c);
    PQclear(r);
    PQfinish(c);
    if (!ok) return make_error(Errc::internal, "test server: CREATE DATABASE: " + msg);
    return "postgres://troupe@127.0.0.1:" + std::to_string(port_) + "/" + name;
  }

  Status pause() {
    std::lock_guard lock(mu_);
    if (pid_ <= 0) return make_error(Errc::internal, "test server is not running");
    shutdown();
    return {};
  }

  Status resume() {
    std::lock_guard lock(mu_);
    if (pid_ > 0 || dir_.empty()) return make_error(Errc::internal, "test server is not paused");
    if (launch()) return {};
    return make_error(Errc::internal, "postgres did not restart: " + read_file(dir_ + "/server.log"));
  }

  void stop() {
    std::lock_guard lock(mu_);
    shutdown();
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
      dir_.clear();
    }
  }

 private:
  void shutdown() {
    if (pid_ > 0) {
      kill(pid_, SIGINT);  // "fast" shutdown: disconnects clients, then exits
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  // Starts postgres on dir_/data and port_; true once it accepts connections.
  bool launch() {
    pid_ = spawn({bin_ + "/postgres", "-D", dir_ + "/data", "-k", dir_, "-p",
                  std::to_string(port_), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                  "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c",
                  "max_connections=200"},
                 id_, dir_ + "/server.log");
    if (pid_ < 0) return false;
    if (wait_ready()) return true;
    shutdown();
    return false;
  }

  std::string conninfo(const std::string& db) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=troupe dbname=" + db +
           " connect_timeout=5";
  }

  Status start() {
    const std::string bin = find_bin_dir();
    if (bin.empty()) {
      return make_error(Errc::unavailable,
                        "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin "
                        "and $TROUPE_PG_BIN); install the `postgresql` package "
                        "(scripts/install-deps)");
    }
    Identity id;
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr) {
        return make_error(Errc::unavailable,
                          "running as root and there is no `postgres` user to run the test "
                          "server as (the postgresql package creates it)");
      }
      id = Identity{true, pw->pw_uid, pw->pw_gid};
    }
    bin_ = bin;
    id_ = id;
    std::string tmpl = "/tmp/troupe-pg-test-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) return make_error(Errc::internal, "mkdtemp failed");
    dir_ = tmpl;
    if (id.drop && chown(dir_.c_str(), id.uid, id.gid) != 0) {
      return make_error(Errc::internal, "chown " + dir_ + " failed");
    }
    const std::string data = dir_ + "/data";
    const std::string log = dir_ + "/server.log";
    {
      const pid_t p = spawn({bin + "/initdb", "-D", data, "-U", "troupe", "-A", "trust", "-E",
                             "UTF8", "--no-locale", "--no-sync"},
                            id, dir_ + "/initdb.log");
      int status = 0;
      if (p < 0 || waitpid(p, &status, 0) != p || !WIFEXITED(status) ||
          WEXITSTATUS(status) != 0) {
        return make_error(Errc::internal, "initdb failed (exit status " +
                                              std::to_string(WEXITSTATUS(status)) +
                                              "): " + read_file(dir_ + "/initdb.log"));
      }
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_port();
      if (port_ <= 0) return make_error(Errc::internal, "no free port");
      if (launch()) return {};  // else the port was taken meanwhile: another one
    }
    return make_error(Errc::internal, "postgres did not start: " + read_file(log));
  }

  bool wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) return false;  // exited (port taken?)
      if (PQping(conninfo("postgres").c_str()) == PQPING_OK) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::mutex mu_;
  std::string bin_;
  Identity id_;
  pid_t pid_ = -1;
  int port_ = 0;
  int databases_ = 0;
  std::string dir_;
};

Server& server() {
  static Server s;
  return s;
}

// Stops the server when the test program ends (before static destruction).
class StopAtEnd : public ::testing::Environment {
 public:
  void TearDown() override { server().stop(); }
};
[[maybe_unused]] ::testing::Environment* const kStopAtEnd =
    ::testing::AddGlobalTestEnvironment(new StopAtEnd);

}  // namespace

Result<std::string> PgTestServer::create_database() { return server().create_database(); }

Status PgTestServer::pause() { return server().pause(); }

Status PgTestServer::resume() { return server().resume(); }

void PgTestServer::stop() { server().stop(); }

}  // namespace troupe::store::testing
