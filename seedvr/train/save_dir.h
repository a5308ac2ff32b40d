// What a training run's save_dir may already hold, checked before any work.
//
// A save_dir holds one run: its checkpoint_<step>.pth / ema_<step>.pth files
// (checkpoint.h), checkpoint_final.pth / ema_final.pth and train_log.jsonl.
// A new run into a folder that holds one would rewrite its log and replace
// its checkpoints of the same steps, so PrepareSaveDir refuses it unless the
// run resumes (checkpoint.resume) or replaces the folder's run
// (checkpoint.overwrite, which removes those files first).
//
// Temporaries an interrupted save left behind (`<file>.tmp.<pid>` from
// core::AtomicWrite, `loss_curves.html.tmp`, `loss_curves.png.tmp`) are
// removed whichever it is: they are never complete, and at 7B each is tens of
// GB.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace seedvr::train {

struct SaveDirContents {
  std::vector<std::string> run_files;    // file names of the run the folder holds, sorted
  std::vector<std::string> temporaries;  // file names of interrupted saves, sorted
};

// Lists `save_dir` (empty when it does not exist). An error when it exists
// and cannot be read, or is not a directory.
absl::StatusOr<SaveDirContents> ListSaveDir(const std::string& save_dir);

// Refuses a save_dir holding a run unless `resume` is set or `overwrite` is
// true (FailedPrecondition, naming the folder, what it holds and the three
// ways on); both set is InvalidArgument. When `remove` is set (the rank that writes), deletes the
// temporaries and, with `overwrite`, the old run's files. Returns the lines
// to print about what was removed.
absl::StatusOr<std::vector<std::string>> PrepareSaveDir(const std::string& save_dir, const std::string& resume,
                                                        bool overwrite, bool remove);

}  // namespace seedvr::train
