// Real processes for multi-process tests: spawning ranks or torchrun with
// their environment, waiting with a deadline, finding a rank's process, and
// a free TCP port for a rendezvous store.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "seedvr/testing/fixtures.h"

extern char** environ;

namespace seedvr::testing {

// A TCP port no one listens on now.
inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Starts `argv` with this process's environment plus `env` ("NAME=value"),
// stdout and stderr to `log`. Returns the pid, or -1.
inline pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, const std::string& log) {
  std::vector<std::string> all_env(env);
  for (char** e = environ; *e != nullptr; ++e) all_env.emplace_back(*e);  // the first entry of a name wins
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : all_env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits for `pid` at most `timeout`; returns its exit code, 128 + signal if
// a signal ended it, or -1 after killing it at the deadline.
inline int WaitExit(pid_t pid, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Processes whose environment holds every entry of `entries` ("NAME=value").
inline std::vector<pid_t> FindProcesses(const std::vector<std::string>& entries) {
  std::vector<pid_t> found;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return found;
  while (dirent* d = ::readdir(proc)) {
    const pid_t pid = std::atoi(d->d_name);
    if (pid <= 0) continue;
    std::string env = ReadText(std::string("/proc/") + d->d_name + "/environ");
    std::vector<std::string> vars;
    std::stringstream s(env);
    for (std::string v; std::getline(s, v, '\0');) vars.push_back(v);
    bool all = true;
    for (const auto& e : entries) {
      bool has = false;
      for (const auto& v : vars) has = has || v == e;
      all = all && has;
    }
    if (all) found.push_back(pid);
  }
  ::closedir(proc);
  return found;
}

}  // namespace seedvr::testing
