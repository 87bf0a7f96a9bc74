// troupe: the command line. `troupe serve` runs the server; `troupe user add NAME` creates a user.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <spdlog/spdlog.h>

#include "app/App.h"
#include "app/TaskDumpTool.h"

extern char** environ;

namespace {

using troupe::Config;

// defaults < TOML file < TROUPE_* environment < flags
struct Flags {
  std::string config_file, listen, data, store, bus;
  std::vector<std::string> sets;
};

bool load_config(Config& cfg, const Flags& f) {
  const auto& file = f.config_file;
  const auto& sets = f.sets;
  auto fail = [](const troupe::Status& s) {
    std::cerr << "troupe: " << s.error().message << "\n";
    return false;
  };
  if (!file.empty()) {
    if (auto s = cfg.apply_toml_file(file); !s.ok()) return fail(s);
  }
  if (auto s = cfg.apply_env(environ); !s.ok()) return fail(s);
  if (!f.listen.empty()) cfg.server.listen = f.listen;
  if (!f.data.empty()) cfg.store.data_dir = f.data;
  if (!f.store.empty()) cfg.store.url = f.store;
  if (!f.bus.empty()) cfg.bus.url = f.bus;
  for (const auto& kv : sets) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) {
      std::cerr << "troupe: --set expects KEY=VALUE, got " << kv << "\n";
      return false;
    }
    if (auto s = cfg.set(kv.substr(0, eq), kv.substr(eq + 1)); !s.ok()) return fail(s);
  }
  if (!cfg.llm.base_url.empty() && cfg.llm.backend == "sim") cfg.llm.backend = "openai";
  auto level = spdlog::level::from_str(cfg.log_level);
  spdlog::set_level(level);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Troupe: a role-play chat server"};
  cli.require_subcommand(1);
  Flags flags;

  auto* serve = cli.add_subcommand("serve", "Run the server");
  serve->add_option("--config", flags.config_file, "TOML configuration file");
  serve->add_option("--listen", flags.listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  serve->add_option("--data", flags.data, "Data directory (default ./data)");
  serve->add_option("--store", flags.store, "Store: sqlite (default, under --data) or postgres://...");
  serve->add_option("--bus", flags.bus, "Event bus: in-process (default) or redis://host:port");
  serve->add_option("--set", flags.sets, "Override a config key: --set llm.sim_token_delay_ms=0");

  auto* user = cli.add_subcommand("user", "Manage users");
  user->require_subcommand(1);
  auto* add = user->add_subcommand("add", "Create a user and print its token (last line)");
  std::string name;
  bool admin = false;
  add->add_option("NAME", name, "User name")->required();
  add->add_option("--data", flags.data, "Data directory (default ./data)");
  add->add_option("--store", flags.store, "Store: sqlite (default, under --data) or postgres://...");
  add->add_option("--config", flags.config_file, "TOML configuration file");
  add->add_flag("--admin", admin, "Make the user an administrator");

  auto* del = user->add_subcommand("delete", "Delete a user and everything of theirs (server stopped)");
  std::string del_name;
  del->add_option("NAME", del_name, "User name")->required();
  del->add_option("--data", flags.data, "Data directory (default ./data)");
  del->add_option("--store", flags.store, "Store: sqlite (default, under --data) or postgres://...");
  del->add_option("--config", flags.config_file, "TOML configuration file");

  auto* tasks = cli.add_subcommand("tasks", "Analyse live task dumps (groups, owners, past deadline, growth)");
  troupe::app::TaskDumpOptions topts;
  tasks->add_option("--url", topts.url, "Server base URL, e.g. http://127.0.0.1:8080");
  tasks->add_option("--token", topts.token, "Admin token (default: env TROUPE_TOKEN)");
  tasks->add_option("--file", topts.file, "Read a saved dump (JSON from /debug/tasks?format=json&debug=2)");
  tasks->add_option("--compare", topts.compare, "A second saved dump: show growth since --file");
  tasks->add_option("--interval", topts.interval_s, "With --url: fetch again after N seconds and show growth")
      ->check(CLI::Range(0, 3600));
  tasks->add_option("--save", topts.save, "Write the fetched dump to this file");
  tasks->add_option("--top", topts.top, "Owners to list")->check(CLI::Range(1, 1000));

  CLI11_PARSE(cli, argc, argv);
  if (tasks->parsed()) {
    if (topts.token.empty()) {
      if (const char* t = std::getenv("TROUPE_TOKEN")) topts.token = t;
    }
    return troupe::app::run_task_dump_tool(topts);
  }

  Config cfg;
  if (!load_config(cfg, flags)) return 2;
  // Creating a user needs only the store; it never joins the event bus.
  if (add->parsed() || del->parsed()) cfg.bus.url.clear();
  auto app = troupe::app::App::open(cfg);
  if (!app.ok()) {
    std::cerr << "troupe: " << app.error().message << "\n";
    return 1;
  }
  if (serve->parsed()) return (*app)->serve();
  if (del->parsed()) {
    auto s = (*app)->delete_user(del_name);
    if (!s.ok()) {
      std::cerr << "troupe: " << s.error().message << "\n";
      return 1;
    }
    std::cout << "deleted user " << del_name << "\n";
    return 0;
  }
  if (add->parsed()) {
    auto nu = (*app)->auth().create_user(name, admin);
    if (!nu.ok()) {
      std::cerr << "troupe: " << nu.error().message << "\n";
      return 1;
    }
    std::cout << "created user " << nu->user.name << " (id " << nu->user.id << (admin ? ", admin" : "")
              << ")\n";
    std::cout << nu->token << std::endl;
  }
  return 0;
}
