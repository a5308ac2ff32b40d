#include "seedvr/parallel/fault.h"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"

namespace seedvr::parallel {
namespace {

std::mutex& CheckpointMutex() {
  static std::mutex mu;
  return mu;
}

struct StopState {
  std::mutex mu;  // guards the fields; taken once, by the stopping caller, for good
  std::string program = "seedvr";
  std::weak_ptr<ProcessGroups> groups;
};

StopState& State() {
  static StopState* s = new StopState();  // never destroyed: the signal thread may outlive main
  return *s;
}

}  // namespace

void InstallStopHandler(const std::string& program) {
  {
    std::lock_guard<std::mutex> lock(State().mu);
    State().program = program;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by every thread started later
  std::thread([set] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    std::lock_guard<std::mutex> writing(CheckpointMutex());  // let a checkpoint being written finish
    StopProcess(128 + sig, absl::StrCat("stopped by ",
                                        sig == SIGTERM ? "SIGTERM (torchrun sends it to every rank "
                                                         "when one fails)"
                                                       : "SIGINT",
                                        "; the newest checkpoint on disk is complete"));
  }).detach();
}

void WatchProcessGroups(std::weak_ptr<ProcessGroups> groups) {
  std::lock_guard<std::mutex> lock(State().mu);
  State().groups = std::move(groups);
}

CheckpointWriteScope::CheckpointWriteScope() : lock_(CheckpointMutex()) {}

void StopProcess(int exit_code, const std::string& what) {
  StopState& s = State();
  s.mu.lock();  // held until exit: a second caller waits here for the first to end the process
  std::string line = s.program;
  if (std::shared_ptr<ProcessGroups> groups = s.groups.lock()) {
    absl::StrAppend(&line, ": rank ", groups->rank(), ": ", what, "; ", groups->Diagnose(what));
  } else {
    absl::StrAppend(&line, ": ", what);
  }
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  std::_Exit(exit_code);
}

}  // namespace seedvr::parallel
