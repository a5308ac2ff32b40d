// Internal helpers shared by the FFmpeg translation units (reader, writer,
// codec round trips). Includes FFmpeg headers; never include from a header
// that torch code sees.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace seedvr::data::ff {

// Quiets FFmpeg's own logging once per process (our warnings name the file and
// the reason instead). SEEDVR_FFMPEG_LOG=1 keeps FFmpeg's messages.
void InitFfmpegOnce();

std::string ErrorString(int errnum);
absl::Status Error(const std::string& what, int errnum);

// SWS_CS_* constant for a stream's colour matrix; unspecified matrices follow
// the usual player convention (BT.709 for height >= 720, else BT.601).
int SwsColorspace(AVColorSpace space, int height);
bool IsFullRange(AVColorRange range, AVPixelFormat fmt);

// Parses "bt709" / "bt601" / "bt2020" (and a few aliases).
AVColorSpace ParseMatrix(const std::string& name);

// The private options of libx264 and libx265 (nothing for other encoders):
// `preset` unless empty, `crf` unless negative, x265's logs quiet, and x264
// without macroblock-tree rate control. x264 0.164's AVX-512 mbtree kernel
// reads memory it never initialised, so with it the same frames encode
// differently from one process to the next (and from a CPU without AVX-512).
void SetX26xOptions(const std::string& codec_name, const std::string& preset, int crf, AVDictionary** opts);

struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;

// A swscale context converting between packed RGB (RGB24, or RGB48 in native
// endianness for high bit depth) and some pixel format, cached on (formats,
// size, matrix, range) and rebuilt when any of them changes.
class Converter {
 public:
  ~Converter();
  // YUV (or any) frame -> packed `rgb_fmt` full range, rows without padding.
  absl::Status ToRgb(const AVFrame* src, AVColorSpace fallback_space, AVColorRange fallback_range, uint8_t* dst_rgb,
                     AVPixelFormat rgb_fmt = AV_PIX_FMT_RGB24);
  // Packed `rgb_fmt` -> frame of format/size already set in `dst` (buffer allocated).
  absl::Status FromRgb(const uint8_t* src_rgb, AVFrame* dst, AVColorSpace space, AVColorRange range,
                       AVPixelFormat rgb_fmt = AV_PIX_FMT_RGB24);

 private:
  absl::Status Ensure(int sw, int sh, AVPixelFormat sf, int dw, int dh, AVPixelFormat df, int space,
                      bool yuv_is_src, bool full_range);
  SwsContext* ctx_ = nullptr;
  std::vector<uint8_t> scratch_;
  int key_[8] = {0};
};

}  // namespace seedvr::data::ff
