// A save_dir that holds a run is refused before any work unless the run
// resumes or overwrites it; temporaries of interrupted saves are removed.
#include "seedvr/train/save_dir.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "seedvr/testing/fixtures.h"

namespace seedvr::train {
namespace {

namespace fs = std::filesystem;

std::string MakeDir(const std::string& name, const std::vector<std::string>& files) {
  const std::string dir = testing::TempDir() + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const std::string& f : files) std::ofstream(dir + "/" + f) << "x";
  return dir;
}

TEST(SaveDir, AFolderHoldingARunIsRefusedWithTheWaysOn) {
  const std::string dir = MakeDir("held", {"checkpoint_10.pth", "ema_10.pth", "train_log.jsonl", "notes.txt"});
  auto refused = PrepareSaveDir(dir, "", false, true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  for (const char* part : {"checkpoint_10.pth", "train_log.jsonl", "--resume", "--save_dir", "--overwrite"}) {
    EXPECT_NE(refused.status().message().find(part), std::string::npos) << part << ": " << refused.status();
  }
  EXPECT_TRUE(fs::exists(dir + "/checkpoint_10.pth"));  // nothing touched
  // Resuming is what such a folder is for.
  EXPECT_TRUE(PrepareSaveDir(dir, dir + "/checkpoint_10.pth", false, true).ok());
  EXPECT_TRUE(fs::exists(dir + "/train_log.jsonl"));
  // A log alone (a run stopped before its first save) is a run too.
  EXPECT_FALSE(PrepareSaveDir(MakeDir("log_only", {"train_log.jsonl"}), "", false, true).ok());
  // Files of other kinds do not make a run.
  EXPECT_TRUE(PrepareSaveDir(MakeDir("other", {"notes.txt", "config.yaml"}), "", false, true).ok());
  EXPECT_TRUE(PrepareSaveDir(testing::TempDir() + "/not_yet_made", "", false, true).ok());
}

TEST(SaveDir, OverwriteRemovesTheOldRunAndKeepsOtherFiles) {
  const std::string dir =
      MakeDir("overwrite", {"checkpoint_10.pth", "checkpoint_final.pth", "ema_final.pth", "train_log.jsonl", "a.txt"});
  auto done = PrepareSaveDir(dir, "", true, true);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->size(), 1u);
  EXPECT_NE((*done)[0].find("removed 4 files of the earlier run"), std::string::npos) << (*done)[0];
  EXPECT_TRUE(ListSaveDir(dir)->run_files.empty());
  EXPECT_TRUE(fs::exists(dir + "/a.txt"));
  // Only the rank that writes removes anything; and overwrite + resume contradict.
  const std::string kept = MakeDir("overwrite_other_rank", {"checkpoint_10.pth"});
  EXPECT_TRUE(PrepareSaveDir(kept, "", true, false).ok());
  EXPECT_TRUE(fs::exists(kept + "/checkpoint_10.pth"));
  auto both = PrepareSaveDir(kept, kept + "/checkpoint_10.pth", true, true);
  EXPECT_EQ(both.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SaveDir, TemporariesOfInterruptedSavesAreRemovedAtStart) {
  const std::string dir = MakeDir(
      "temporaries", {"checkpoint_20.pth", "checkpoint_30.pth.tmp.4242", "ema_30.pth.tmp.4242",
                      "checkpoint_final.pth.tmp.77", "loss_curves.html.tmp", "loss_curves.png.tmp", "mine.tmp.1"});
  auto listed = ListSaveDir(dir);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->temporaries.size(), 5u);
  auto done = PrepareSaveDir(dir, dir + "/checkpoint_20.pth", false, /*remove=*/true);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->size(), 1u);
  EXPECT_NE((*done)[0].find("removed 5 temporary files"), std::string::npos) << (*done)[0];
  EXPECT_TRUE(ListSaveDir(dir)->temporaries.empty());
  EXPECT_TRUE(fs::exists(dir + "/checkpoint_20.pth"));
  EXPECT_TRUE(fs::exists(dir + "/mine.tmp.1"));  // not ours
}

TEST(SaveDir, AFileInPlaceOfTheFolderIsNamed) {
  const std::string parent = MakeDir("file_parent", {"save"});
  auto bad = PrepareSaveDir(parent + "/save", "", false, true);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(parent + "/save is not a directory"), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace seedvr::train
