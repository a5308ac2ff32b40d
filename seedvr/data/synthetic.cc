#include "seedvr/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "seedvr/data/random.h"

namespace seedvr::data {
namespace {

// Value noise on a lattice with smoothstep interpolation.
class ValueNoise {
 public:
  explicit ValueNoise(uint64_t seed) : seed_(seed) {}
  float At(float x, float y) const {
    const int xi = static_cast<int>(std::floor(x)), yi = static_cast<int>(std::floor(y));
    const float fx = x - xi, fy = y - yi;
    const float sx = fx * fx * (3 - 2 * fx), sy = fy * fy * (3 - 2 * fy);
    const float a = Lattice(xi, yi), b = Lattice(xi + 1, yi), c = Lattice(xi, yi + 1), d = Lattice(xi + 1, yi + 1);
    return (a + (b - a) * sx) + ((c + (d - c) * sx) - (a + (b - a) * sx)) * sy;
  }

 private:
  float Lattice(int x, int y) const {
    const uint64_t h = SplitMix64(seed_ ^ (static_cast<uint64_t>(static_cast<uint32_t>(x)) << 32) ^
                                  static_cast<uint32_t>(y));
    return static_cast<float>(h >> 40) / static_cast<float>(1 << 24);
  }
  uint64_t seed_;
};

struct Canvas {
  int w, h;
  std::vector<float> px;  // RGB in [0,1]
  float* at(int x, int y) { return &px[(static_cast<size_t>(y) * w + x) * 3]; }
};

void Blend(float* p, const float* c, float a) {
  for (int k = 0; k < 3; ++k) p[k] = p[k] * (1 - a) + c[k] * a;
}

Canvas MakeTexture(int w, int h, int view_w, uint64_t seed) {
  Canvas cv{w, h, std::vector<float>(static_cast<size_t>(w) * h * 3)};
  Rng rng(DeriveSeed({seed, 11}));
  ValueNoise n1(DeriveSeed({seed, 1})), n2(DeriveSeed({seed, 2})), n3(DeriveSeed({seed, 3}));
  float base[3][3];
  for (auto& c : base) {
    for (float& v : c) v = static_cast<float>(Uniform(rng, 0.1, 0.9));
  }
  // Feature size follows the view: 1/8 of its width (160 px at 1280).
  const float freq = 1.0f / std::max(16.0f, 0.125f * view_w);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      float f = 0, amp = 0.5f, fr = freq, g = 0;
      for (int o = 0; o < 6; ++o) {  // fBm: 6 octaves, down to ~5 px detail
        f += amp * n1.At(x * fr, y * fr);
        amp *= 0.5f;
        fr *= 2.0f;
      }
      g = n2.At(x * freq * 0.5f, y * freq * 0.5f);
      const float hue = n3.At(x * freq * 0.3f + 7, y * freq * 0.3f + 3);
      float* p = cv.at(x, y);
      for (int k = 0; k < 3; ++k) {
        const float grad = base[0][k] * (1 - hue) + base[1][k] * hue;
        p[k] = std::clamp(0.25f + grad * 0.5f + (f - 0.5f) * 0.9f + (g - 0.5f) * 0.3f * (k == 2 ? 1 : -1), 0.f, 1.f);
      }
    }
  }
  // Shapes: discs, rectangles, stripe patches and thin lines (sharp edges).
  const int shapes = std::max(12, static_cast<int>(w * h / 9000));
  for (int s = 0; s < shapes; ++s) {
    const int type = UniformInt(rng, 0, 3);
    float col[3] = {static_cast<float>(Uniform(rng, 0, 1)), static_cast<float>(Uniform(rng, 0, 1)),
                    static_cast<float>(Uniform(rng, 0, 1))};
    const float alpha = static_cast<float>(Uniform(rng, 0.5, 1.0));
    const int cx = UniformInt(rng, 0, w - 1), cy = UniformInt(rng, 0, h - 1);
    const int r = UniformInt(rng, 4, std::max(6, std::min(w, h) / 14));
    for (int y = std::max(0, cy - r); y < std::min(h, cy + r); ++y) {
      for (int x = std::max(0, cx - r); x < std::min(w, cx + r); ++x) {
        const int dx = x - cx, dy = y - cy;
        bool in = false;
        if (type == 0) in = dx * dx + dy * dy < r * r;
        if (type == 1) in = std::abs(dx) < r * 0.8 && std::abs(dy) < r * 0.5;
        if (type == 2) in = dx * dx + dy * dy < r * r && ((x + y) / 3) % 2 == 0;  // striped disc
        if (type == 3) in = std::abs(dx - dy) < 2;                                    // diagonal line
        if (in) Blend(cv.at(x, y), col, alpha);
      }
    }
  }
  return cv;
}

void SampleBilinear(const Canvas& cv, float x, float y, float* out) {
  x = std::clamp(x, 0.f, cv.w - 1.001f);
  y = std::clamp(y, 0.f, cv.h - 1.001f);
  const int xi = static_cast<int>(x), yi = static_cast<int>(y);
  const float fx = x - xi, fy = y - yi;
  const float* a = &cv.px[(static_cast<size_t>(yi) * cv.w + xi) * 3];
  const float* b = a + 3;
  const float* c = a + static_cast<size_t>(cv.w) * 3;
  const float* d = c + 3;
  for (int k = 0; k < 3; ++k) {
    out[k] = (a[k] * (1 - fx) + b[k] * fx) * (1 - fy) + (c[k] * (1 - fx) + d[k] * fx) * fy;
  }
}

}  // namespace

Clip MakeSyntheticClip(const SyntheticVideoOptions& o) {
  Rng rng(DeriveSeed({o.seed, 99}));
  // Canvas large enough for the whole camera path.
  const int cw = static_cast<int>(o.width * (1.6 + o.pan_speed * o.frames)) + 8;
  const int ch = static_cast<int>(o.height * 1.6) + 8;
  const Canvas cv = MakeTexture(cw, ch, o.width, o.seed);
  const double dir = Uniform(rng, -0.6, 0.6);  // pan direction (mostly horizontal)
  const double zsign = Bernoulli(rng, 0.5) ? 1.0 : -1.0;
  struct Obj {
    double x, y, vx, vy, r;
    float col[3];
  };
  std::vector<Obj> objs(o.moving_objects);
  for (Obj& ob : objs) {
    ob = {Uniform(rng, 0.2, 0.8) * o.width, Uniform(rng, 0.2, 0.8) * o.height, Uniform(rng, -6, 6),
          Uniform(rng, -4, 4), Uniform(rng, 0.03, 0.08) * o.height, {}};
    for (float& v : ob.col) v = static_cast<float>(Uniform(rng, 0, 1));
  }
  Clip clip(o.frames, o.width, o.height);
  clip.fps = o.fps;
  for (int f = 0; f < o.frames; ++f) {
    const double zoom = 1.0 + zsign * o.zoom_rate * f;  // >1 zooms in
    const double ang = o.rotate_rate * f * zsign;
    const double ca = std::cos(ang) / zoom, sa = std::sin(ang) / zoom;
    const double step = o.pan_speed * o.width * (f - o.frames * 0.5);
    const double cx = cw * 0.5 + step * std::cos(dir);
    const double cy = ch * 0.5 + step * std::sin(dir) * 0.3;
    uint8_t* out = clip.frame(f);
    for (int y = 0; y < o.height; ++y) {
      const double vy = y - o.height * 0.5;
      for (int x = 0; x < o.width; ++x) {
        const double vx = x - o.width * 0.5;
        float p[3];
        SampleBilinear(cv, static_cast<float>(cx + ca * vx - sa * vy), static_cast<float>(cy + sa * vx + ca * vy),
                       p);
        for (const Obj& ob : objs) {
          const double px0 = ob.x + ob.vx * f, py0 = ob.y + ob.vy * f;
          const double d2 = (x - px0) * (x - px0) + (y - py0) * (y - py0);
          if (d2 < ob.r * ob.r) {
            const float edge = static_cast<float>(std::clamp(ob.r - std::sqrt(d2), 0.0, 1.0));  // anti-aliased rim
            Blend(p, ob.col, edge);
          }
        }
        uint8_t* q = out + (static_cast<size_t>(y) * o.width + x) * 3;
        for (int k = 0; k < 3; ++k) q[k] = static_cast<uint8_t>(std::clamp(p[k] * 255.f + 0.5f, 0.f, 255.f));
      }
    }
  }
  return clip;
}

}  // namespace seedvr::data
