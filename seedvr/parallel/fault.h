// How a training process ends on a fault or a stop signal, in one place.
//
// InstallStopHandler (first thing in main, before any thread starts) blocks
// SIGTERM and SIGINT in every thread and waits for them on a thread of its
// own. torchrun sends SIGTERM to every rank when one fails or when it is
// stopped itself, Ctrl-C sends SIGINT. On either, the handler waits for a
// checkpoint being written (CheckpointWriteScope), so the newest checkpoint
// on disk is complete, then stops the process through StopProcess.
//
// A training loop that can stop cleanly calls EnableGracefulStop: the first
// signal then only records itself (StopSignal), the loop finishes its step,
// saves a checkpoint and exits with 128 + the signal. A second signal, or
// `grace` passing without an exit (a rank stuck in a collective with a dead
// peer), stops the process as above.
//
// StopProcess prints one line, "<program>: rank R: <what>; <diagnosis>", and
// exits at once, skipping destructors (those of a broken process group can
// block). The first caller wins, so a signal racing a collective error
// gives one message. The diagnosis comes from the run's process groups
// (WatchProcessGroups): what became of the other ranks.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "seedvr/parallel/process_groups.h"

namespace seedvr::parallel {

// `program` prefixes every message ("train").
void InstallStopHandler(const std::string& program);

// From now on the first SIGINT/SIGTERM asks for a clean stop (see above).
void EnableGracefulStop(std::chrono::milliseconds grace);

// The signal that asked for a clean stop, or 0.
int StopSignal();

// Failures from now on name what became of the other ranks of `groups`.
void WatchProcessGroups(std::weak_ptr<ProcessGroups> groups);

// Held while a checkpoint is written: a stop signal waits for it.
class CheckpointWriteScope {
 public:
  CheckpointWriteScope();

 private:
  std::lock_guard<std::mutex> lock_;
};

// Prints what happened (and, with process groups, what the other ranks
// did) and exits with `exit_code`. Never returns.
[[noreturn]] void StopProcess(int exit_code, const std::string& what);

}  // namespace seedvr::parallel
