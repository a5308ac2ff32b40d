// The data set the training tests run on: two short synthetic HQ clips
// (96x64, 6 frames), one mp4 and one mkv, under root/hq.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "absl/status/status.h"
#include "seedvr/data/synthetic.h"
#include "seedvr/data/video_writer.h"

namespace seedvr::train {

// Writes root/hq/a.mp4 and root/hq/b.mkv drawn with seeds `seed`, `seed + 1`.
inline absl::Status WriteTrainingClips(const std::string& root, uint64_t seed) {
  std::filesystem::create_directories(root + "/hq");
  for (int i = 0; i < 2; ++i) {
    data::SyntheticVideoOptions o;
    o.width = 96;
    o.height = 64;
    o.frames = 6;
    o.seed = seed + i;
    absl::Status s = data::WriteVideo(root + (i == 0 ? "/hq/a.mp4" : "/hq/b.mkv"), data::MakeSyntheticClip(o));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace seedvr::train
