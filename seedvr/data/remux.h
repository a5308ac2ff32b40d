// Stream copying without re-encoding: puts the audio of one file beside the
// video of another (restored videos keep their soundtrack). No FFmpeg types
// here.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace seedvr::data {

// Whether `path` has an audio stream.
absl::StatusOr<bool> HasAudio(const std::string& path);

// Writes `output` with the first video stream of `video` and every audio
// stream of `audio_source` that the output container can hold, copying
// packets as they are.
absl::Status MuxAudio(const std::string& video, const std::string& audio_source, const std::string& output);

}  // namespace seedvr::data
