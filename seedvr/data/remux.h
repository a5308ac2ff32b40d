// Stream copying without re-encoding: puts the audio and subtitles of one
// file beside the video of another (restored videos keep their soundtrack,
// subtitles, languages and default/forced flags). No FFmpeg types here.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace seedvr::data {

// Whether `path` has an audio or subtitle stream (CopyStreams copies those
// the output container can hold).
absl::StatusOr<bool> HasStreamsToCopy(const std::string& path);

// Writes `output` with the first video stream of `video` and every audio and
// subtitle stream of `source` that the output container can hold (mov_text
// into webm, say, is left out without an error), copying packets as they are
// together with each stream's metadata (language, title), disposition
// (default, forced) and side data (the video's display rotation).
absl::Status CopyStreams(const std::string& video, const std::string& source, const std::string& output);

}  // namespace seedvr::data
