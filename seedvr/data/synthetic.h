// Procedural test/demo video: a camera that pans, zooms and slightly rotates
// over a large rich texture (multi-octave value noise, colour gradients,
// random shapes, fine stripes) with a few objects moving on their own.
// Deterministic from the seed; no external images needed.
#pragma once

#include <cstdint>

#include "seedvr/data/frame.h"

namespace seedvr::data {

struct SyntheticVideoOptions {
  int width = 1280;
  int height = 720;
  int frames = 33;
  double fps = 25.0;
  uint64_t seed = 1;
  double pan_speed = 0.015;  // fraction of the view width per frame
  double zoom_rate = 0.006;  // relative zoom change per frame (signed by seed)
  double rotate_rate = 0.0015;  // radians per frame
  int moving_objects = 3;
};

Clip MakeSyntheticClip(const SyntheticVideoOptions& options);

}  // namespace seedvr::data
