#include "seedvr/parallel/fault.h"

#include <signal.h>

#include <atomic>
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
  std::atomic<int64_t> grace_ms{-1};  // -1: a signal stops at once
  std::atomic<int> signal{0};         // the signal that asked for a clean stop
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
    const char* name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
    if (const int64_t grace_ms = State().grace_ms.load(); grace_ms >= 0) {
      State().signal.store(sig);
      std::fprintf(stderr, "%s: %s: finishing this step and saving a checkpoint; send it again to stop at once\n",
                   State().program.c_str(), name);
      // Ctrl-C under torchrun reaches a rank twice within milliseconds (from
      // the terminal, then forwarded by torchrun): only a signal a second or
      // more later is a second request.
      const auto first = std::chrono::steady_clock::now();
      const auto deadline = first + std::chrono::milliseconds(grace_ms);
      for (auto now = first; now < deadline; now = std::chrono::steady_clock::now()) {
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count();
        const timespec wait{static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
        if (sigtimedwait(&set, nullptr, &wait) > 0 &&
            std::chrono::steady_clock::now() - first >= std::chrono::seconds(1)) {
          StopProcess(128 + sig,
                      absl::StrCat("stopped by a second ", name, "; checkpoints already on disk are complete"));
        }
      }
    }
    std::lock_guard<std::mutex> writing(CheckpointMutex());  // let a checkpoint being written finish
    StopProcess(128 + sig, absl::StrCat("stopped by ", name,
                                        sig == SIGTERM ? " (torchrun sends it to every rank when one fails)" : "",
                                        "; the newest checkpoint on disk is complete"));
  }).detach();
}

void EnableGracefulStop(std::chrono::milliseconds grace) { State().grace_ms.store(grace.count()); }

int StopSignal() { return State().signal.load(); }

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
