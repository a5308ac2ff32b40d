// Synthesis of LQ video from HQ video (Real-ESRGAN's two-stage pipeline with
// RealBasicVSR's video additions). Everything follows from (config, seed):
// no global RNG state, so a clip degrades identically on any thread.
//
// Per clip: kernel types and sizes, resize factors and interpolation modes,
// noise type, stage-order and codec choices are drawn once (every frame keeps
// one size and the codec sees one stream). Per frame: blur sigmas/angle, sinc
// cutoff, noise sigma/scale and JPEG quality drift linearly from a value drawn
// for the first frame to one drawn for the last (within config.drift of the
// range), and each frame gets fresh noise.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "seedvr/data/data_config.h"
#include "seedvr/data/frame.h"

namespace seedvr::data {

class Degrader {
 public:
  explicit Degrader(DegradationConfig config) : config_(std::move(config)) {}
  const DegradationConfig& config() const { return config_; }

  // Degrades `hq` into an LQ clip of size ceil(hq / scale). With
  // `restore_size`, the result is resized back (bicubic) to hq's size so it
  // aligns pixel for pixel with the HQ clip. `description`, if given, receives
  // the drawn parameters in one line.
  absl::StatusOr<Clip> Apply(const Clip& hq, uint64_t seed, bool restore_size = true,
                             std::string* description = nullptr) const;

 private:
  DegradationConfig config_;
};

}  // namespace seedvr::data
