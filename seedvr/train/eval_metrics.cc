#include "seedvr/train/eval_metrics.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "seedvr/data/clip_tensor.h"
#include "seedvr/data/image_ops.h"
#include "seedvr/data/video_writer.h"

namespace seedvr::train {
namespace {

data::Clip ToClip(const at::Tensor& video) {
  return data::TensorToClip((video.dim() == 5 ? video[0] : video).detach().cpu());
}

// [3, H, W] in [-1, 1] -> uint8 [H*k, W*k, 3].
at::Tensor TileBytes(const at::Tensor& frame, int64_t k) {
  const at::Tensor bytes = data::ClipToUint8Tensor(ToClip(frame.unsqueeze(1)))[0];
  return bytes.repeat_interleave(k, 0).repeat_interleave(k, 1);
}

}  // namespace

double ClipPsnr(const at::Tensor& a, const at::Tensor& b) {
  const data::Clip x = ToClip(a), y = ToClip(b);
  return data::Psnr(x.rgb.data(), y.rgb.data(), x.rgb.size());
}

double ClipHighFrequencyEnergy(const at::Tensor& video) {
  const data::Clip clip = ToClip(video);
  double sum = 0;
  for (int i = 0; i < clip.t; ++i) sum += data::HighFrequencyEnergy(clip.GetFrame(i));
  return clip.t > 0 ? sum / clip.t : 0.0;
}

absl::Status WriteSampleSheet(const std::string& path, const std::vector<SampleRow>& rows) {
  if (rows.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no sample rows to write"));
  constexpr int64_t kGap = 4, kMinHeight = 192;
  const int64_t h = rows[0].hq.size(1), w = rows[0].hq.size(2);
  const int64_t k = std::max<int64_t>(1, (kMinHeight + h - 1) / h);
  const int64_t th = h * k, tw = w * k;
  const int64_t rows_n = static_cast<int64_t>(rows.size());
  at::Tensor sheet = at::full({rows_n * th + (rows_n + 1) * kGap, 4 * tw + 5 * kGap, 3}, 255, at::kByte);
  for (int64_t r = 0; r < rows_n; ++r) {
    const SampleRow& row = rows[r];
    const at::Tensor* tiles[] = {&row.lq, &row.restored, &row.round_trip, &row.hq};
    for (int64_t c = 0; c < 4; ++c) {
      const int64_t y = kGap + r * (th + kGap), x = kGap + c * (tw + kGap);
      sheet.slice(0, y, y + th).slice(1, x, x + tw).copy_(TileBytes(*tiles[c], k));
    }
  }
  namespace fs = std::filesystem;
  const fs::path final_path(path);
  const std::string partial = (final_path.parent_path() / absl::StrCat(".partial.", final_path.filename().string())).string();
  data::EncoderOptions o;
  o.codec = "png";
  o.pix_fmt = "rgb24";
  absl::Status status;
  {
    auto writer = data::VideoWriter::Open(partial, static_cast<int>(sheet.size(1)), static_cast<int>(sheet.size(0)), o);
    if (!writer.ok()) return writer.status();
    status = (*writer)->Write(sheet.contiguous().data_ptr<uint8_t>());
    if (status.ok()) status = (*writer)->Close();
  }
  std::error_code ec;
  if (status.ok()) {
    fs::rename(partial, final_path, ec);
    if (ec) status = absl::InternalError(absl::StrCat("cannot write ", path, ": ", ec.message()));
  }
  if (!status.ok()) fs::remove(partial, ec);
  return status;
}

}  // namespace seedvr::train
