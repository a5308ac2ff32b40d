#include "seedvr/data/ffmpeg_common.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace seedvr::data::ff {

void InitFfmpegOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* env = std::getenv("SEEDVR_FFMPEG_LOG");
    if (env == nullptr || *env == '\0' || *env == '0') av_log_set_level(AV_LOG_QUIET);
  });
}

std::string ErrorString(int errnum) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(errnum, buf, sizeof(buf));
  return buf;
}

absl::Status Error(const std::string& what, int errnum) {
  return absl::InternalError(absl::StrCat(what, ": ", ErrorString(errnum)));
}

int SwsColorspace(AVColorSpace space, int height) {
  switch (space) {
    case AVCOL_SPC_BT709:
      return SWS_CS_ITU709;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
      return SWS_CS_ITU601;
    case AVCOL_SPC_SMPTE240M:
      return SWS_CS_SMPTE240M;
    case AVCOL_SPC_FCC:
      return SWS_CS_FCC;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return SWS_CS_BT2020;
    default:
      return height >= 720 ? SWS_CS_ITU709 : SWS_CS_ITU601;
  }
}

bool IsFullRange(AVColorRange range, AVPixelFormat fmt) {
  if (range == AVCOL_RANGE_JPEG) return true;
  if (range == AVCOL_RANGE_MPEG) return false;
  return fmt == AV_PIX_FMT_YUVJ420P || fmt == AV_PIX_FMT_YUVJ422P || fmt == AV_PIX_FMT_YUVJ444P ||
         fmt == AV_PIX_FMT_YUVJ440P || fmt == AV_PIX_FMT_YUVJ411P;
}

AVColorSpace ParseMatrix(const std::string& name) {
  if (name == "bt601" || name == "smpte170m" || name == "bt470bg") return AVCOL_SPC_SMPTE170M;
  if (name == "bt2020" || name == "bt2020nc") return AVCOL_SPC_BT2020_NCL;
  return AVCOL_SPC_BT709;
}

void SetX26xOptions(const std::string& codec_name, const std::string& preset, int crf, AVDictionary** opts) {
  if (codec_name != "libx264" && codec_name != "libx265") return;
  if (!preset.empty()) av_dict_set(opts, "preset", preset.c_str(), 0);
  if (crf >= 0) av_dict_set(opts, "crf", std::to_string(crf).c_str(), 0);
  if (codec_name == "libx264") av_dict_set(opts, "mbtree", "0", 0);
  if (codec_name == "libx265") av_dict_set(opts, "x265-params", "log-level=error", 0);
}

Converter::~Converter() { sws_freeContext(ctx_); }

absl::Status Converter::Ensure(int sw, int sh, AVPixelFormat sf, int dw, int dh, AVPixelFormat df,
                               int space, bool yuv_is_src, bool full_range) {
  const int key[8] = {sw, sh, static_cast<int>(sf), dw, dh, static_cast<int>(df), space,
                      (full_range ? 2 : 0) | (yuv_is_src ? 1 : 0)};
  if (ctx_ != nullptr && std::equal(key, key + 8, key_)) return absl::OkStatus();
  sws_freeContext(ctx_);
  // YUV -> RGB uses swscale's fast unscaled converters (SIMD, ~3x faster at
  // 720p than the accurate path; the matrix/range still apply through the
  // colourspace tables, see the ColourTest cases). RGB -> YUV for encoding
  // takes the accurate path with full chroma interpolation.
  const int flags = yuv_is_src ? SWS_BILINEAR : SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT;
  ctx_ = sws_getContext(sw, sh, sf, dw, dh, df, flags, nullptr, nullptr, nullptr);
  if (ctx_ == nullptr) {
    return absl::InternalError(absl::StrCat("swscale cannot convert ",
                                            av_get_pix_fmt_name(sf) ? av_get_pix_fmt_name(sf) : "?",
                                            " to ", av_get_pix_fmt_name(df) ? av_get_pix_fmt_name(df) : "?"));
  }
  const int* coefs = sws_getCoefficients(space);
  // RGB side is always full range; the YUV side gets the stream's matrix/range.
  // (Returns -1 for RGB<->RGB conversions, where it does not apply.)
  if (yuv_is_src) {
    sws_setColorspaceDetails(ctx_, coefs, full_range ? 1 : 0, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                             1 << 16, 1 << 16);
  } else {
    sws_setColorspaceDetails(ctx_, sws_getCoefficients(SWS_CS_DEFAULT), 1, coefs, full_range ? 1 : 0, 0,
                             1 << 16, 1 << 16);
  }
  std::copy(key, key + 8, key_);
  return absl::OkStatus();
}

absl::Status Converter::ToRgb(const AVFrame* src, AVColorSpace fallback_space, AVColorRange fallback_range,
                              uint8_t* dst_rgb, AVPixelFormat rgb_fmt) {
  const auto fmt = static_cast<AVPixelFormat>(src->format);
  const AVColorSpace space = src->colorspace != AVCOL_SPC_UNSPECIFIED ? src->colorspace : fallback_space;
  const AVColorRange range = src->color_range != AVCOL_RANGE_UNSPECIFIED ? src->color_range : fallback_range;
  const bool full = IsFullRange(range, fmt);
  absl::Status st = Ensure(src->width, src->height, fmt, src->width, src->height, rgb_fmt,
                           SwsColorspace(space, src->height), true, full);
  if (!st.ok()) return st;
  const int row_bytes = av_image_get_linesize(rgb_fmt, src->width, 0);
  if (src->width % 32 == 0) {
    uint8_t* dst[4] = {dst_rgb, nullptr, nullptr, nullptr};
    int dst_stride[4] = {row_bytes, 0, 0, 0};
    const int rows = sws_scale(ctx_, src->data, src->linesize, 0, src->height, dst, dst_stride);
    if (rows != src->height) return absl::InternalError("sws_scale produced a partial picture");
    return absl::OkStatus();
  }
  // The SIMD converters write whole blocks of pixels: give them padded rows
  // and copy the picture out.
  const int stride = (row_bytes + 32 * (row_bytes / src->width) + 63) & ~63;
  scratch_.resize(static_cast<size_t>(stride) * (src->height + 1) + 64);
  uint8_t* dst[4] = {scratch_.data(), nullptr, nullptr, nullptr};
  int dst_stride[4] = {stride, 0, 0, 0};
  const int rows = sws_scale(ctx_, src->data, src->linesize, 0, src->height, dst, dst_stride);
  if (rows != src->height) return absl::InternalError("sws_scale produced a partial picture");
  for (int y = 0; y < src->height; ++y) {
    std::copy(scratch_.data() + static_cast<size_t>(y) * stride, scratch_.data() + static_cast<size_t>(y) * stride + row_bytes,
              dst_rgb + static_cast<size_t>(y) * row_bytes);
  }
  return absl::OkStatus();
}

absl::Status Converter::FromRgb(const uint8_t* src_rgb, AVFrame* dst, AVColorSpace space, AVColorRange range,
                                AVPixelFormat rgb_fmt) {
  const auto fmt = static_cast<AVPixelFormat>(dst->format);
  const bool full = IsFullRange(range, fmt);
  absl::Status st = Ensure(dst->width, dst->height, rgb_fmt, dst->width, dst->height, fmt,
                           SwsColorspace(space, dst->height), false, full);
  if (!st.ok()) return st;
  // The SIMD readers load whole blocks past a row's last pixel, which on the
  // last row is past the end of the caller's buffer: read from padded rows.
  const int row_bytes = av_image_get_linesize(rgb_fmt, dst->width, 0);
  const int stride = (row_bytes + 64 + 63) & ~63;
  scratch_.resize(static_cast<size_t>(stride) * dst->height);
  for (int y = 0; y < dst->height; ++y) {
    uint8_t* row = scratch_.data() + static_cast<size_t>(y) * stride;
    std::copy(src_rgb + static_cast<size_t>(y) * row_bytes, src_rgb + static_cast<size_t>(y + 1) * row_bytes, row);
    std::fill(row + row_bytes, row + stride, 0);
  }
  const uint8_t* src[4] = {scratch_.data(), nullptr, nullptr, nullptr};
  int src_stride[4] = {stride, 0, 0, 0};
  const int rows = sws_scale(ctx_, src, src_stride, 0, dst->height, dst->data, dst->linesize);
  if (rows != dst->height) return absl::InternalError("sws_scale produced a partial picture");
  return absl::OkStatus();
}

}  // namespace seedvr::data::ff
