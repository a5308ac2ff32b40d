#include "seedvr/data/codec_roundtrip.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "seedvr/data/ffmpeg_common.h"

namespace seedvr::data {
namespace {

struct Padded {
  int w, h;
  std::vector<uint8_t> rgb;
};

void PadFrame(const uint8_t* src, int w, int h, int pw, int ph, uint8_t* dst) {
  for (int y = 0; y < ph; ++y) {
    const uint8_t* srow = src + static_cast<size_t>(std::min(y, h - 1)) * w * 3;
    uint8_t* drow = dst + static_cast<size_t>(y) * pw * 3;
    std::copy(srow, srow + static_cast<size_t>(w) * 3, drow);
    for (int x = w; x < pw; ++x) std::copy(srow + (w - 1) * 3, srow + w * 3, drow + x * 3);
  }
}

void CropFrame(const uint8_t* src, int pw, int w, int h, uint8_t* dst) {
  for (int y = 0; y < h; ++y) {
    std::copy(src + static_cast<size_t>(y) * pw * 3, src + static_cast<size_t>(y) * pw * 3 + w * 3,
              dst + static_cast<size_t>(y) * w * 3);
  }
}

// Encoder + decoder pair sharing one picture size and pixel format.
class RoundTrip {
 public:
  absl::Status Init(const AVCodec* enc_codec, int w, int h, AVPixelFormat fmt, AVColorSpace space, AVColorRange range,
                    const CodecRoundTripOptions& o, AVDictionary** opts) {
    w_ = w;
    h_ = h;
    space_ = space;
    range_ = range;
    enc_.reset(avcodec_alloc_context3(enc_codec));
    enc_->width = w;
    enc_->height = h;
    enc_->pix_fmt = fmt;
    const AVRational rate = av_d2q(o.fps > 0 ? o.fps : 25.0, 100000);
    enc_->time_base = av_inv_q(rate);
    enc_->framerate = rate;
    enc_->colorspace = space;
    enc_->color_range = range;
    enc_->thread_count = 1;
    if (o.gop > 0) enc_->gop_size = o.gop;
    if (o.bitrate > 0) {
      enc_->bit_rate = o.bitrate;
      // A VBV of ~4 frames: over a short clip the rate control must bite from
      // the first frames, or every bitrate ends up at the initial quantiser.
      enc_->rc_max_rate = o.bitrate;
      enc_->rc_buffer_size = static_cast<int>(std::max<double>(o.bitrate * 4.0 / (o.fps > 0 ? o.fps : 25.0), 800));
      enc_->rc_initial_buffer_occupancy = enc_->rc_buffer_size * 3 / 4;
    }
    if (o.qscale > 0) {
      enc_->flags |= AV_CODEC_FLAG_QSCALE;
      enc_->global_quality = FF_QP2LAMBDA * o.qscale;
      enc_->qmin = enc_->qmax = o.qscale;
    }
    int ret = avcodec_open2(enc_.get(), enc_codec, opts);
    if (ret < 0) return ff::Error(absl::StrCat("cannot open encoder ", enc_codec->name), ret);
    const AVCodec* dec_codec = avcodec_find_decoder(enc_codec->id);
    if (dec_codec == nullptr) return absl::NotFoundError(absl::StrCat("no decoder for ", enc_codec->name));
    dec_.reset(avcodec_alloc_context3(dec_codec));
    dec_->thread_count = 1;
    if (enc_->extradata_size > 0) {
      dec_->extradata = static_cast<uint8_t*>(av_mallocz(enc_->extradata_size + AV_INPUT_BUFFER_PADDING_SIZE));
      std::copy(enc_->extradata, enc_->extradata + enc_->extradata_size, dec_->extradata);
      dec_->extradata_size = enc_->extradata_size;
    }
    ret = avcodec_open2(dec_.get(), dec_codec, nullptr);
    if (ret < 0) return ff::Error(absl::StrCat("cannot open decoder ", dec_codec->name), ret);
    frame_->format = fmt;
    frame_->width = w;
    frame_->height = h;
    frame_->colorspace = space;
    frame_->color_range = range;
    ret = av_frame_get_buffer(frame_.get(), 0);
    if (ret < 0) return ff::Error("av_frame_get_buffer", ret);
    return absl::OkStatus();
  }

  // Sends one RGB picture (nullptr flushes); decoded pictures go to `sink`.
  template <typename Sink>
  absl::Status Push(const uint8_t* rgb, Sink&& sink) {
    int ret;
    if (rgb != nullptr) {
      ret = av_frame_make_writable(frame_.get());
      if (ret < 0) return ff::Error("av_frame_make_writable", ret);
      if (absl::Status s = to_yuv_.FromRgb(rgb, frame_.get(), space_, range_); !s.ok()) return s;
      frame_->pts = pts_++;
      ret = avcodec_send_frame(enc_.get(), frame_.get());
    } else {
      ret = avcodec_send_frame(enc_.get(), nullptr);
    }
    if (ret < 0) return ff::Error("encoding failed", ret);
    while (true) {
      ret = avcodec_receive_packet(enc_.get(), packet_.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) break;
      if (ret < 0) return ff::Error("encoding failed", ret);
      ret = avcodec_send_packet(dec_.get(), packet_.get());
      av_packet_unref(packet_.get());
      if (ret < 0) return ff::Error("decoding failed", ret);
      if (absl::Status s = Receive(sink); !s.ok()) return s;
    }
    if (rgb == nullptr) {
      avcodec_send_packet(dec_.get(), nullptr);
      return Receive(sink);
    }
    return absl::OkStatus();
  }

 private:
  template <typename Sink>
  absl::Status Receive(Sink&& sink) {
    while (true) {
      const int ret = avcodec_receive_frame(dec_.get(), out_.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return absl::OkStatus();
      if (ret < 0) return ff::Error("decoding failed", ret);
      absl::Status s = sink(out_.get());
      av_frame_unref(out_.get());
      if (!s.ok()) return s;
    }
  }

  int w_ = 0, h_ = 0;
  AVColorSpace space_ = AVCOL_SPC_SMPTE170M;
  AVColorRange range_ = AVCOL_RANGE_MPEG;
  int64_t pts_ = 0;
  ff::CodecContextPtr enc_, dec_;
  ff::FramePtr frame_{av_frame_alloc()}, out_{av_frame_alloc()};
  ff::PacketPtr packet_{av_packet_alloc()};
  ff::Converter to_yuv_;
};

}  // namespace

int JpegQualityToQscale(double quality) {
  const double q = std::clamp(quality, 1.0, 100.0);
  const double s = q < 50.0 ? 50.0 / q : 2.0 - q / 50.0;
  return std::clamp(static_cast<int>(std::lround(8.0 * s)), 1, 31);
}

absl::Status JpegRoundTrip(uint8_t* rgb, int w, int h, double quality) {
  ff::InitFfmpegOnce();
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (codec == nullptr) return absl::NotFoundError("no mjpeg encoder");
  const int pw = std::max(16, (w + 1) & ~1), ph = std::max(16, (h + 1) & ~1);
  std::vector<uint8_t> padded(static_cast<size_t>(pw) * ph * 3);
  PadFrame(rgb, w, h, pw, ph, padded.data());
  CodecRoundTripOptions o;
  o.qscale = JpegQualityToQscale(quality);
  RoundTrip rt;
  if (absl::Status s = rt.Init(codec, pw, ph, AV_PIX_FMT_YUVJ420P, AVCOL_SPC_BT470BG, AVCOL_RANGE_JPEG, o, nullptr);
      !s.ok()) {
    return s;
  }
  bool got = false;
  ff::Converter to_rgb;
  auto sink = [&](const AVFrame* f) -> absl::Status {
    if (absl::Status s = to_rgb.ToRgb(f, AVCOL_SPC_BT470BG, AVCOL_RANGE_JPEG, padded.data()); !s.ok()) return s;
    got = true;
    return absl::OkStatus();
  };
  if (absl::Status s = rt.Push(padded.data(), sink); !s.ok()) return s;
  if (absl::Status s = rt.Push(nullptr, sink); !s.ok()) return s;
  if (!got) return absl::InternalError("mjpeg round trip produced no picture");
  CropFrame(padded.data(), pw, w, h, rgb);
  return absl::OkStatus();
}

absl::Status JpegRoundTrip(Frame* frame, double quality) {
  return JpegRoundTrip(frame->rgb.data(), frame->w, frame->h, quality);
}

absl::Status VideoCodecRoundTrip(Clip* clip, const CodecRoundTripOptions& o) {
  ff::InitFfmpegOnce();
  if (clip->t <= 0) return absl::OkStatus();
  const AVCodec* codec = avcodec_find_encoder_by_name(o.encoder.c_str());
  if (codec == nullptr) return absl::NotFoundError(absl::StrCat("no encoder named ", o.encoder));
  const int pw = std::max(32, (clip->w + 15) & ~15), ph = std::max(32, (clip->h + 15) & ~15);
  AVDictionary* opts = nullptr;
  ff::SetX26xOptions(codec->name, o.preset, o.crf, &opts);
  RoundTrip rt;
  absl::Status st = rt.Init(codec, pw, ph, AV_PIX_FMT_YUV420P, AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG, o, &opts);
  av_dict_free(&opts);
  if (!st.ok()) return st;
  std::vector<uint8_t> in(static_cast<size_t>(pw) * ph * 3), out(in.size());
  ff::Converter to_rgb;
  int decoded = 0;
  auto sink = [&](const AVFrame* f) -> absl::Status {
    if (decoded >= clip->t) return absl::OkStatus();
    if (absl::Status s = to_rgb.ToRgb(f, AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG, out.data()); !s.ok()) return s;
    CropFrame(out.data(), pw, clip->w, clip->h, clip->frame(decoded));
    ++decoded;
    return absl::OkStatus();
  };
  for (int i = 0; i < clip->t; ++i) {
    PadFrame(clip->frame(i), clip->w, clip->h, pw, ph, in.data());
    if (absl::Status s = rt.Push(in.data(), sink); !s.ok()) return s;
  }
  if (absl::Status s = rt.Push(nullptr, sink); !s.ok()) return s;
  if (decoded != clip->t) {
    return absl::InternalError(absl::StrCat(o.encoder, " round trip returned ", decoded, " of ", clip->t, " frames"));
  }
  return absl::OkStatus();
}

}  // namespace seedvr::data
