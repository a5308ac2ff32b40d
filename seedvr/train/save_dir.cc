#include "seedvr/train/save_dir.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <regex>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace seedvr::train {
namespace fs = std::filesystem;

absl::StatusOr<SaveDirContents> ListSaveDir(const std::string& save_dir) {
  static const std::regex kRunFile("(checkpoint|ema)_([0-9]+|final)\\.pth|train_log\\.jsonl");
  static const std::regex kTemporary(
      "(checkpoint|ema)_([0-9]+|final)\\.pth\\.tmp\\.[0-9]+|loss_curves\\.(html|png)\\.tmp");
  SaveDirContents contents;
  std::error_code ec;
  if (!fs::exists(save_dir, ec)) return contents;
  if (!fs::is_directory(save_dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint.save_dir ", save_dir, " is not a directory"));
  }
  fs::directory_iterator it(save_dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (std::regex_match(name, kRunFile)) contents.run_files.push_back(name);
    if (std::regex_match(name, kTemporary)) contents.temporaries.push_back(name);
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot list checkpoint.save_dir ", save_dir, ": ", ec.message()));
  std::sort(contents.run_files.begin(), contents.run_files.end());
  std::sort(contents.temporaries.begin(), contents.temporaries.end());
  return contents;
}

absl::StatusOr<std::vector<std::string>> PrepareSaveDir(const std::string& save_dir, const std::string& resume,
                                                        bool overwrite, bool remove) {
  if (overwrite && !resume.empty()) {
    return absl::InvalidArgumentError("--overwrite (checkpoint.overwrite) and --resume contradict: choose one");
  }
  auto contents = ListSaveDir(save_dir);
  if (!contents.ok()) return contents.status();
  std::vector<std::string> lines;
  if (!contents->run_files.empty() && resume.empty() && !overwrite) {
    const std::vector<std::string>& f = contents->run_files;
    std::string listed = f.size() <= 4 ? absl::StrJoin(f, ", ")
                                       : absl::StrCat(absl::StrJoin(f.begin(), f.begin() + 3, ", "), " and ",
                                                      f.size() - 3, " more");
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint.save_dir ", save_dir, " already holds a training run (", listed,
                     "). Continue it with --resume ", save_dir, "/checkpoint_<step>.pth, choose another --save_dir, "
                     "or pass --overwrite to replace it"));
  }
  if (!remove) return lines;
  auto remove_all = [&](const std::vector<std::string>& names, const char* what) -> absl::Status {
    uintmax_t bytes = 0;
    for (const std::string& name : names) {
      const fs::path path = fs::path(save_dir) / name;
      std::error_code ec;
      const uintmax_t size = fs::file_size(path, ec);
      if (!ec) bytes += size;
      if (!fs::remove(path, ec) && ec) {
        return absl::UnavailableError(absl::StrCat("cannot remove ", path.string(), ": ", ec.message()));
      }
    }
    if (!names.empty()) {
      lines.push_back(absl::StrCat("removed ", names.size(), " ", what, " from ", save_dir, " (",
                                   bytes / (1024 * 1024), " MiB)"));
    }
    return absl::OkStatus();
  };
  if (auto s = remove_all(contents->temporaries, "temporary files of interrupted saves"); !s.ok()) return s;
  if (overwrite) {
    if (auto s = remove_all(contents->run_files, "files of the earlier run (--overwrite)"); !s.ok()) return s;
  }
  return lines;
}

}  // namespace seedvr::train
