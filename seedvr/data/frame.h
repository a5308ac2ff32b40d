// Plain pixel containers shared by the FFmpeg code, the degradations and the
// dataset. No torch here: these headers are included by translation units that
// must stay cheap to compile (see clip_tensor.h for the LibTorch adapter).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace seedvr::data {

// One RGB24 picture, rows top to bottom, pixels interleaved R,G,B, no padding.
struct Frame {
  int w = 0;
  int h = 0;
  std::vector<uint8_t> rgb;  // size w*h*3

  Frame() = default;
  Frame(int width, int height) : w(width), h(height), rgb(static_cast<size_t>(width) * height * 3) {}
  uint8_t* pixel(int x, int y) { return rgb.data() + (static_cast<size_t>(y) * w + x) * 3; }
  const uint8_t* pixel(int x, int y) const { return rgb.data() + (static_cast<size_t>(y) * w + x) * 3; }
};

// T frames of the same size stored contiguously as [T, H, W, 3] uint8 so the
// torch adapter can wrap the buffer without copying it.
struct Clip {
  int t = 0;
  int w = 0;
  int h = 0;
  double fps = 0.0;
  std::vector<uint8_t> rgb;  // size t*h*w*3

  Clip() = default;
  Clip(int frames, int width, int height)
      : t(frames), w(width), h(height), rgb(static_cast<size_t>(frames) * width * height * 3) {}
  size_t frame_bytes() const { return static_cast<size_t>(w) * h * 3; }
  uint8_t* frame(int i) { return rgb.data() + frame_bytes() * i; }
  const uint8_t* frame(int i) const { return rgb.data() + frame_bytes() * i; }
  Frame GetFrame(int i) const {
    Frame f(w, h);
    std::copy(frame(i), frame(i) + frame_bytes(), f.rgb.begin());
    return f;
  }
  void SetFrame(int i, const Frame& f) { std::copy(f.rgb.begin(), f.rgb.end(), frame(i)); }
};

// Float RGB image in [0, 1] (values may leave the range between degradation
// steps), interleaved like Frame. Used by the degradation pipeline.
struct ImageF {
  int w = 0;
  int h = 0;
  std::vector<float> px;  // size w*h*3

  ImageF() = default;
  ImageF(int width, int height) : w(width), h(height), px(static_cast<size_t>(width) * height * 3, 0.f) {}
};

}  // namespace seedvr::data
