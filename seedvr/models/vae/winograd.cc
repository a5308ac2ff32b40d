// Winograd F(2x2, 3x3) convolution; see winograd.h.
#include "seedvr/models/vae/winograd.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace seedvr::vae {
namespace {

constexpr int64_t kPoints = 16;  // 4x4 tile positions
// Floats of transformed input plus products held at once: big enough for
// wide GEMMs, small enough to stay near the last-level cache.
constexpr int64_t kChunkFloats = int64_t{32} << 20;
// Tiles per GEMM (its N) below which chunks shrink in frames instead.
constexpr int64_t kMinColumns = 1024;
// See WinogradPays.
constexpr int64_t kMinChannels = 128;

// The loops below are plain unit-stride float arithmetic; these clones let
// the compiler vectorise them for the running CPU's widest vectors.
#define SEEDVR_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

// Input transform B^T d B of the tiles in rows [ty0, ty1) of one (channel,
// frame) plane (h x w, rows `ld` floats apart, zero-padded by ph on top and
// pw on the left; reads beyond the bottom and right edges are zeros). Tile
// (ty, tx) reads padded rows 2ty..2ty+3 and columns 2tx..2tx+3; position
// 4k + l goes to out[(4k + l) * stream + (ty - ty0) * tw + tx]. Columns are
// split into even and odd ones first so that every loop below is unit-stride.
SEEDVR_VECTOR_CLONES void InputTransform(const float* plane, int64_t h, int64_t w, int64_t ld, int64_t ph, int64_t pw,
                                         int64_t ty0, int64_t ty1, int64_t tw, float* out, int64_t stream,
                                         float* scratch) {
  const int64_t n = tw + 1;  // even (odd) columns 0, 2, ... 2tw of the padded row
  float* ev[4];
  float* od[4];
  for (int i = 0; i < 4; ++i) {
    ev[i] = scratch + (2 * i) * n;
    od[i] = scratch + (2 * i + 1) * n;
  }
  float* se = scratch + 8 * n;  // one row combination, even and odd columns
  float* so = se + n;
  for (int64_t ty = ty0; ty < ty1; ++ty) {
    for (int i = 0; i < 4; ++i) {
      const int64_t r = 2 * ty + i - ph;
      if (r < 0 || r >= h) {
        std::fill(ev[i], ev[i] + n, 0.0f);
        std::fill(od[i], od[i] + n, 0.0f);
        continue;
      }
      // Padded column 2m (2m + 1) is input column 2m - pw (2m + 1 - pw);
      // both are inside the row for m in [lo, hi).
      const float* row = plane + r * ld;
      const int64_t lo = std::min((pw + 1) / 2, n), hi = std::max(lo, std::min((w + pw) / 2, n));
      auto at = [&](int64_t col) { return col >= 0 && col < w ? row[col] : 0.0f; };
      for (int64_t m = 0; m < lo; ++m) {
        ev[i][m] = at(2 * m - pw);
        od[i][m] = at(2 * m + 1 - pw);
      }
      const float* p = row - pw;
      for (int64_t m = lo; m < hi; ++m) {
        ev[i][m] = p[2 * m];
        od[i][m] = p[2 * m + 1];
      }
      for (int64_t m = hi; m < n; ++m) {
        ev[i][m] = at(2 * m - pw);
        od[i][m] = at(2 * m + 1 - pw);
      }
    }
    const int64_t first_tile = (ty - ty0) * tw;
    for (int k = 0; k < 4; ++k) {
      // Row k of B^T: d0 - d2, d1 + d2, d2 - d1, d1 - d3.
      static constexpr int kFirst[4] = {0, 1, 1, 1}, kSecond[4] = {2, 2, 2, 3};
      static constexpr float kSignFirst[4] = {1, 1, -1, 1}, kSignSecond[4] = {-1, 1, 1, -1};
      const float* ea = ev[kFirst[k]];
      const float* eb = ev[kSecond[k]];
      const float* oa = od[kFirst[k]];
      const float* ob = od[kSecond[k]];
      const float sa = kSignFirst[k], sb = kSignSecond[k];
      for (int64_t m = 0; m < n; ++m) {
        se[m] = sa * ea[m] + sb * eb[m];
        so[m] = sa * oa[m] + sb * ob[m];
      }
      // Columns of the tile: e0 = se[tx], e1 = so[tx], e2 = se[tx+1], e3 = so[tx+1].
      float* o0 = out + (4 * k) * stream + first_tile;
      float* o1 = o0 + stream;
      float* o2 = o1 + stream;
      float* o3 = o2 + stream;
      for (int64_t tx = 0; tx < tw; ++tx) {
        o0[tx] = se[tx] - se[tx + 1];
        o1[tx] = so[tx] + se[tx + 1];
        o2[tx] = se[tx + 1] - so[tx];
        o3[tx] = so[tx] - so[tx + 1];
      }
    }
  }
}

// Output transform A^T M A plus bias for the tiles in rows [ty0, ty1) of one
// (output channel, frame) plane (oh x ow); `in` holds the 16 positions as
// streams like InputTransform's output.
SEEDVR_VECTOR_CLONES void OutputTransform(const float* in, int64_t stream, int64_t ty0, int64_t ty1, int64_t tw,
                                          float bias, float* plane, int64_t oh, int64_t ow, float* scratch) {
  float* y[4] = {scratch, scratch + tw, scratch + 2 * tw, scratch + 3 * tw};  // rows 0/1, columns even/odd
  const float* m[kPoints];
  for (int64_t ty = ty0; ty < ty1; ++ty) {
    for (int p = 0; p < kPoints; ++p) m[p] = in + p * stream + (ty - ty0) * tw;
    for (int64_t tx = 0; tx < tw; ++tx) {
      // Rows of A^T (1 1 1 0; 0 1 -1 -1), first over k, then over l.
      float a0[4], a1[4];
      for (int l = 0; l < 4; ++l) {
        a0[l] = m[l][tx] + m[4 + l][tx] + m[8 + l][tx];
        a1[l] = m[4 + l][tx] - m[8 + l][tx] - m[12 + l][tx];
      }
      y[0][tx] = a0[0] + a0[1] + a0[2] + bias;
      y[1][tx] = a0[1] - a0[2] - a0[3] + bias;
      y[2][tx] = a1[0] + a1[1] + a1[2] + bias;
      y[3][tx] = a1[1] - a1[2] - a1[3] + bias;
    }
    for (int i = 0; i < 2; ++i) {
      const int64_t r = 2 * ty + i;
      if (r >= oh) break;
      float* row = plane + r * ow;
      const float* ye = y[2 * i];
      const float* yo = y[2 * i + 1];
      const int64_t pairs = ow / 2;
      for (int64_t tx = 0; tx < pairs; ++tx) {
        row[2 * tx] = ye[tx];
        row[2 * tx + 1] = yo[tx];
      }
      if (ow % 2) row[ow - 1] = ye[pairs];
    }
  }
}

}  // namespace

bool WinogradApplies(const std::vector<at::Tensor>& parts, const at::Tensor& weight, std::array<int64_t, 3> stride,
                     std::array<int64_t, 4> padding) {
  if (parts.empty() || weight.dim() != 5 || weight.scalar_type() != at::kFloat || weight.size(3) != 3 ||
      weight.size(4) != 3 || stride != std::array<int64_t, 3>{1, 1, 1}) {
    return false;
  }
  const bool grad_mode = at::GradMode::is_enabled();
  if (grad_mode && weight.requires_grad()) return false;
  for (int64_t p : padding) {
    if (p < 0 || p > 2) return false;
  }
  const at::Tensor& first = parts[0];
  int64_t frames = 0;
  for (const at::Tensor& x : parts) {
    if (x.dim() != 5 || !x.device().is_cpu() || x.scalar_type() != at::kFloat || (grad_mode && x.requires_grad()) ||
        x.size(0) != first.size(0) || x.size(1) != first.size(1) || x.size(3) != first.size(3) ||
        x.size(4) != first.size(4)) {
      return false;
    }
    frames += x.size(2);
  }
  return frames >= weight.size(2) && first.size(1) == weight.size(1) && first.size(3) + padding[0] + padding[1] >= 3 &&
         first.size(4) + padding[2] + padding[3] >= 3;
}

bool WinogradPays(const at::Tensor& weight) { return std::min(weight.size(0), weight.size(1)) >= kMinChannels; }

const at::Tensor& WinogradWeightCache::Get(const at::Tensor& weight) {
  if (!u_.defined() || !weight_ || weight_->lock().get() != weight.unsafeGetTensorImpl() ||
      weight._version() != version_) {
    u_ = WinogradWeight(weight);
    weight_.emplace(weight.getIntrusivePtr());
    version_ = weight._version();
  }
  return u_;
}

at::Tensor WinogradWeight(const at::Tensor& weight) {
  const at::Tensor g = weight.detach().contiguous();
  const int64_t o = g.size(0), c = g.size(1), kt = g.size(2);
  // Computed per (o, c, tap) as 16 contiguous values, then laid out by
  // position in one transposing copy.
  at::Tensor u = at::empty({o, c, kt, kPoints}, g.options());
  const float* src = g.data_ptr<float>();
  float* dst = u.data_ptr<float>();
  at::parallel_for(0, o * c * kt, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* k = src + i * 9;  // 3x3, row-major
      // G k: rows k0, (k0 + k1 + k2) / 2, (k0 - k1 + k2) / 2, k2 of the 3 rows.
      float gk[4][3];
      for (int j = 0; j < 3; ++j) {
        gk[0][j] = k[j];
        gk[1][j] = 0.5f * (k[j] + k[3 + j] + k[6 + j]);
        gk[2][j] = 0.5f * (k[j] - k[3 + j] + k[6 + j]);
        gk[3][j] = k[6 + j];
      }
      float* out = dst + i * kPoints;
      for (int r = 0; r < 4; ++r) {  // (G k) G^T: the same on the columns
        out[4 * r + 0] = gk[r][0];
        out[4 * r + 1] = 0.5f * (gk[r][0] + gk[r][1] + gk[r][2]);
        out[4 * r + 2] = 0.5f * (gk[r][0] - gk[r][1] + gk[r][2]);
        out[4 * r + 3] = gk[r][2];
      }
    }
  });
  return u.permute({3, 0, 2, 1}).reshape({kPoints, o, kt * c});
}

at::Tensor WinogradConv3d(const std::vector<at::Tensor>& parts, const at::Tensor& u, const at::Tensor& bias,
                          std::array<int64_t, 4> padding) {
  at::NoGradGuard no_grad;
  // Frame f of the joined clip: its part and the frame within it. Parts are
  // read in place where each row is contiguous.
  std::vector<at::Tensor> in;
  std::vector<int64_t> part_of_frame, frame_in_part;
  for (const at::Tensor& part : parts) {
    in.push_back(part.stride(4) == 1 ? part : part.contiguous());
    for (int64_t f = 0; f < part.size(2); ++f) {
      part_of_frame.push_back(static_cast<int64_t>(in.size()) - 1);
      frame_in_part.push_back(f);
    }
  }
  const at::Tensor& x = in[0];
  const int64_t batch = x.size(0), c = x.size(1), t = static_cast<int64_t>(part_of_frame.size()), h = x.size(3),
                w = x.size(4);
  const int64_t o = u.size(1), kt = u.size(2) / c;
  TORCH_CHECK(u.dim() == 3 && u.size(0) == kPoints && kt * c == u.size(2) && kt >= 1 && kt <= t,
              "WinogradConv3d: Winograd weight ", u.sizes(), " does not fit input ", x.sizes(), " of ", t, " frames");
  const int64_t ph = padding[0], pw = padding[2];
  const int64_t oh = h + padding[0] + padding[1] - 2, ow = w + padding[2] + padding[3] - 2, ot = t - kt + 1;
  const int64_t th = (oh + 1) / 2, tw = (ow + 1) / 2;
  // The (batch b, channel ch, frame f) plane and its row stride.
  const auto plane = [&](int64_t b, int64_t ch, int64_t f) {
    const at::Tensor& p = in[part_of_frame[f]];
    return p.data_ptr<float>() + b * p.stride(0) + ch * p.stride(1) + frame_in_part[f] * p.stride(2);
  };
  at::Tensor y = at::empty({batch, o, ot, oh, ow}, x.options());
  if (y.numel() == 0) return y;

  // Work in chunks of `frames` output frames x `rows` tile rows, sized so the
  // transformed input (C x (frames + kt - 1) planes) and the products
  // (O x frames planes) stay within kChunkFloats: fewer tile rows first,
  // down to GEMMs kMinColumns wide (narrower ones run slower), then fewer
  // frames (each chunk transforms again the kt - 1 frames it shares with the
  // previous one), then fewer rows again.
  const auto floats = [&](int64_t frames, int64_t rows) {
    return kPoints * rows * tw * (c * (frames + kt - 1) + o * frames);
  };
  const int64_t min_rows = std::min(th, (kMinColumns + tw - 1) / tw);
  int64_t rows = th, frames = ot;
  while (rows > min_rows && floats(frames, rows) > kChunkFloats) rows = std::max(min_rows, (rows + 1) / 2);
  while (frames > 1 && floats(frames, rows) > kChunkFloats) frames = (frames + 1) / 2;
  while (rows > 1 && floats(frames, rows) > kChunkFloats) rows = (rows + 1) / 2;

  // One scratch buffer per thread, kept between calls: allocating it per
  // call would have the kernel clear and map its pages again at every layer.
  thread_local at::Tensor workspace;
  if (!workspace.defined() || workspace.numel() < floats(frames, rows)) {
    workspace = at::empty({floats(frames, rows)}, x.options());
  }
  const float* bias_data = nullptr;
  at::Tensor bias_c;
  if (bias.defined()) {
    bias_c = bias.detach().contiguous();
    bias_data = bias_c.data_ptr<float>();
  }
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t f0 = 0; f0 < ot; f0 += frames) {
      const int64_t nf = std::min(frames, ot - f0), nif = nf + kt - 1;
      for (int64_t ty0 = 0; ty0 < th; ty0 += rows) {
        const int64_t ty1 = std::min(th, ty0 + rows), pb = (ty1 - ty0) * tw;
        // Transformed input v: (16, nif, C, pb), so that the kt frames an
        // output frame reads are one (kt C) x pb matrix per position.
        // Products m: (nf, 16, O, pb).
        at::Tensor v = workspace.narrow(0, 0, kPoints * nif * c * pb).view({kPoints, nif, c, pb});
        at::Tensor m = workspace.narrow(0, v.numel(), nf * kPoints * o * pb).view({nf, kPoints, o, pb});
        float* v_data = v.data_ptr<float>();
        at::parallel_for(0, c * nif, 1, [&](int64_t begin, int64_t end) {
          std::vector<float> scratch(10 * (tw + 1));
          for (int64_t i = begin; i < end; ++i) {
            const int64_t ch = i / nif, f = i % nif;
            const int64_t ld = in[part_of_frame[f0 + f]].stride(3);
            InputTransform(plane(b, ch, f0 + f), h, w, ld, ph, pw, ty0, ty1, tw, v_data + (f * c + ch) * pb,
                           nif * c * pb, scratch.data());
          }
        });
        for (int64_t f = 0; f < nf; ++f) {
          at::Tensor mf = m[f];
          at::bmm_out(mf, u, v.narrow(1, f, kt).view({kPoints, kt * c, pb}));
        }
        const float* m_data = m.data_ptr<float>();
        float* y_data = y.data_ptr<float>() + b * o * ot * oh * ow;
        at::parallel_for(0, o * nf, 1, [&](int64_t begin, int64_t end) {
          std::vector<float> scratch(4 * tw);
          for (int64_t i = begin; i < end; ++i) {
            const int64_t oc = i / nf, f = i % nf;
            OutputTransform(m_data + (f * kPoints * o + oc) * pb, o * pb, ty0, ty1, tw,
                            bias_data ? bias_data[oc] : 0.0f, y_data + (oc * ot + f0 + f) * oh * ow, oh, ow,
                            scratch.data());
          }
        });
      }
    }
  }
  return y;
}

}  // namespace seedvr::vae
