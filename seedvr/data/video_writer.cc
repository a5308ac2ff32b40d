#include "seedvr/data/video_writer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "seedvr/data/ffmpeg_common.h"

namespace seedvr::data {
namespace {

std::string Extension(const std::string& path) {
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos) return "";
  return absl::AsciiStrToLower(path.substr(dot + 1));
}

std::string DefaultCodec(const std::string& ext, const std::string& format) {
  if (ext == "webm" || format == "webm") return "libvpx-vp9";
  if (ext == "avi" || format == "avi") return "mpeg4";
  return "libx264";
}

}  // namespace

struct VideoWriter::Impl {
  AVFormatContext* fmt = nullptr;
  ff::CodecContextPtr enc;
  ff::FramePtr frame{av_frame_alloc()};
  ff::PacketPtr packet{av_packet_alloc()};
  ff::Converter converter;
  AVStream* stream = nullptr;
  int64_t next_pts = 0;
  bool header_written = false;
  bool closed = false;
  std::string path;

  ~Impl() {
    enc.reset();
    if (fmt != nullptr) {
      if (!(fmt->oformat->flags & AVFMT_NOFILE) && fmt->pb != nullptr) avio_closep(&fmt->pb);
      avformat_free_context(fmt);
    }
  }

  absl::Status Drain(bool flush) {
    int ret = avcodec_send_frame(enc.get(), flush ? nullptr : frame.get());
    if (ret < 0) return ff::Error("encoding failed", ret);
    while (true) {
      ret = avcodec_receive_packet(enc.get(), packet.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return absl::OkStatus();
      if (ret < 0) return ff::Error("encoding failed", ret);
      av_packet_rescale_ts(packet.get(), enc->time_base, stream->time_base);
      packet->stream_index = stream->index;
      ret = av_interleaved_write_frame(fmt, packet.get());
      if (ret < 0) return ff::Error("writing a packet failed", ret);
    }
  }
};

VideoWriter::VideoWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

VideoWriter::~VideoWriter() {
  if (impl_ && !impl_->closed && impl_->header_written) (void)Close();
}

absl::StatusOr<std::unique_ptr<VideoWriter>> VideoWriter::Open(const std::string& path, int width, int height,
                                                               const EncoderOptions& o) {
  ff::InitFfmpegOnce();
  if (width <= 0 || height <= 0) return absl::InvalidArgumentError("frame size must be positive");
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  int ret = avformat_alloc_output_context2(&impl->fmt, nullptr, o.format.empty() ? nullptr : o.format.c_str(),
                                           path.c_str());
  if (ret < 0 || impl->fmt == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("no container for ", path, ": ", ff::ErrorString(ret)));
  }
  std::string codec_name = o.codec.empty() ? DefaultCodec(Extension(path), o.format) : o.codec;
  if (codec_name == "prores") codec_name = "prores_ks";
  const AVCodec* codec = avcodec_find_encoder_by_name(codec_name.c_str());
  if (codec == nullptr) return absl::NotFoundError(absl::StrCat("no encoder named ", codec_name));
  impl->enc.reset(avcodec_alloc_context3(codec));
  AVCodecContext* enc = impl->enc.get();
  enc->width = width;
  enc->height = height;
  const AVRational rate = av_d2q(o.fps, 100000);
  enc->time_base = av_inv_q(rate);
  enc->framerate = rate;
  enc->thread_count = std::max(1, o.threads);
  if (o.gop > 0) enc->gop_size = o.gop;
  if (o.bitrate > 0) enc->bit_rate = o.bitrate;
  std::string pix = o.pix_fmt;
  if (pix.empty()) {
    if (codec->id == AV_CODEC_ID_PRORES) {
      pix = "yuv422p10le";
    } else if (codec->id == AV_CODEC_ID_MJPEG) {
      pix = "yuvj420p";
    } else {
      pix = "yuv420p";
    }
  }
  enc->pix_fmt = av_get_pix_fmt(pix.c_str());
  if (enc->pix_fmt == AV_PIX_FMT_NONE) return absl::InvalidArgumentError(absl::StrCat("unknown pix_fmt ", pix));
  const bool full = o.full_range || enc->pix_fmt == AV_PIX_FMT_YUVJ420P || enc->pix_fmt == AV_PIX_FMT_YUVJ422P ||
                    enc->pix_fmt == AV_PIX_FMT_YUVJ444P;
  enc->colorspace = ff::ParseMatrix(o.color_matrix);
  enc->color_range = full ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
  if (enc->colorspace == AVCOL_SPC_BT709) {
    enc->color_primaries = AVCOL_PRI_BT709;
    enc->color_trc = AVCOL_TRC_BT709;
  } else if (enc->colorspace == AVCOL_SPC_BT2020_NCL) {
    enc->color_primaries = AVCOL_PRI_BT2020;
    enc->color_trc = AVCOL_TRC_BT2020_10;
  } else {
    enc->color_primaries = AVCOL_PRI_SMPTE170M;
    enc->color_trc = AVCOL_TRC_SMPTE170M;
  }
  if (o.qscale > 0) {
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * o.qscale;
  }
  if (impl->fmt->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  AVDictionary* opts = nullptr;
  if (codec_name == "libx264" || codec_name == "libx265") {
    if (!o.preset.empty()) av_dict_set(&opts, "preset", o.preset.c_str(), 0);
    if (o.crf >= 0) av_dict_set(&opts, "crf", std::to_string(o.crf).c_str(), 0);
    if (codec_name == "libx265") av_dict_set(&opts, "x265-params", "log-level=error", 0);
  } else if (codec_name == "libvpx-vp9") {
    av_dict_set(&opts, "deadline", "realtime", 0);
    av_dict_set(&opts, "cpu-used", "8", 0);
    if (o.crf >= 0) {
      av_dict_set(&opts, "crf", std::to_string(o.crf).c_str(), 0);
      if (o.bitrate <= 0) enc->bit_rate = 0;
    }
  }
  for (const auto& [k, v] : o.codec_options) av_dict_set(&opts, k.c_str(), v.c_str(), 0);
  ret = avcodec_open2(enc, codec, &opts);
  av_dict_free(&opts);
  if (ret < 0) return ff::Error(absl::StrCat("cannot open encoder ", codec_name), ret);

  impl->stream = avformat_new_stream(impl->fmt, nullptr);
  if (impl->stream == nullptr) return absl::InternalError("avformat_new_stream failed");
  impl->stream->time_base = enc->time_base;
  impl->stream->avg_frame_rate = rate;
  avcodec_parameters_from_context(impl->stream->codecpar, enc);
  if (!(impl->fmt->oformat->flags & AVFMT_NOFILE)) {
    ret = avio_open(&impl->fmt->pb, path.c_str(), AVIO_FLAG_WRITE);
    if (ret < 0) return ff::Error(absl::StrCat("cannot create ", path), ret);
  }
  ret = avformat_write_header(impl->fmt, nullptr);
  if (ret < 0) return ff::Error(absl::StrCat("cannot write the ", impl->fmt->oformat->name, " header"), ret);
  impl->header_written = true;

  impl->frame->format = enc->pix_fmt;
  impl->frame->width = width;
  impl->frame->height = height;
  impl->frame->colorspace = enc->colorspace;
  impl->frame->color_range = enc->color_range;
  ret = av_frame_get_buffer(impl->frame.get(), 0);
  if (ret < 0) return ff::Error("av_frame_get_buffer", ret);
  return std::unique_ptr<VideoWriter>(new VideoWriter(std::move(impl)));
}

absl::Status VideoWriter::Write(const Frame& frame) {
  if (frame.w != impl_->enc->width || frame.h != impl_->enc->height) {
    return absl::InvalidArgumentError(absl::StrCat("frame is ", frame.w, "x", frame.h, ", the stream ",
                                                   impl_->enc->width, "x", impl_->enc->height));
  }
  return Write(frame.rgb.data());
}

absl::Status VideoWriter::Write(const uint8_t* rgb) {
  Impl& m = *impl_;
  if (m.closed) return absl::FailedPreconditionError("writer is closed");
  int ret = av_frame_make_writable(m.frame.get());
  if (ret < 0) return ff::Error("av_frame_make_writable", ret);
  if (absl::Status s = m.converter.FromRgb(rgb, m.frame.get(), m.enc->colorspace, m.enc->color_range); !s.ok()) {
    return s;
  }
  m.frame->pts = m.next_pts++;
  return m.Drain(false);
}

absl::Status VideoWriter::Close() {
  Impl& m = *impl_;
  if (m.closed) return absl::OkStatus();
  m.closed = true;
  absl::Status s = m.Drain(true);
  const int ret = av_write_trailer(m.fmt);
  if (s.ok() && ret < 0) s = ff::Error("writing the trailer failed", ret);
  if (!(m.fmt->oformat->flags & AVFMT_NOFILE)) avio_closep(&m.fmt->pb);
  return s;
}

absl::Status WriteVideo(const std::string& path, const std::vector<Frame>& frames, const EncoderOptions& options) {
  if (frames.empty()) return absl::InvalidArgumentError("no frames to write");
  absl::StatusOr<std::unique_ptr<VideoWriter>> w = VideoWriter::Open(path, frames[0].w, frames[0].h, options);
  if (!w.ok()) return w.status();
  for (const Frame& f : frames) {
    if (absl::Status s = (*w)->Write(f); !s.ok()) return s;
  }
  return (*w)->Close();
}

absl::Status WriteVideo(const std::string& path, const Clip& clip, const EncoderOptions& options) {
  if (clip.t <= 0) return absl::InvalidArgumentError("no frames to write");
  absl::StatusOr<std::unique_ptr<VideoWriter>> w = VideoWriter::Open(path, clip.w, clip.h, options);
  if (!w.ok()) return w.status();
  for (int i = 0; i < clip.t; ++i) {
    if (absl::Status s = (*w)->Write(clip.frame(i)); !s.ok()) return s;
  }
  return (*w)->Close();
}

}  // namespace seedvr::data
