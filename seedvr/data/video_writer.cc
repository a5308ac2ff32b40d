#include "seedvr/data/video_writer.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seedvr/data/ffmpeg_common.h"

extern "C" {
#include <libavutil/display.h>
}

namespace seedvr::data {
namespace {

// The muxers that store a display matrix in FFmpeg 5.1 (movenc's tkhd
// matrix); matroska gained one only in later versions.
bool FormatStoresRotation(const AVOutputFormat* format) {
  for (const char* name : {"mov", "mp4", "3gp", "3g2", "psp", "ipod", "ismv", "f4v"}) {
    if (std::strcmp(format->name, name) == 0) return true;
  }
  return false;
}

// Checks `pix` against the formats `codec` lists (encoders without a list take
// what avcodec_open2 accepts).
absl::Status CheckPixFmt(const AVCodec* codec, AVPixelFormat pix) {
  if (codec->pix_fmts == nullptr) return absl::OkStatus();
  std::vector<std::string> names;
  for (const AVPixelFormat* p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; ++p) {
    if (*p == pix) return absl::OkStatus();
    names.push_back(av_get_pix_fmt_name(*p));
  }
  return absl::InvalidArgumentError(absl::StrCat(codec->name, " cannot encode pix_fmt ", av_get_pix_fmt_name(pix),
                                                 " (it takes ", absl::StrJoin(names, ", "), ")"));
}

// A colour tag by its FFmpeg name; `from_name` is av_color_*_from_name.
absl::StatusOr<int> ParseTag(const std::string& name, int (*from_name)(const char*), const char* what) {
  const int value = from_name(name.c_str());
  if (value < 0) return absl::InvalidArgumentError(absl::StrCat("unknown ", what, " \"", name, "\""));
  return value;
}

}  // namespace

bool StoresRotation(const std::string& path, const std::string& format) {
  const AVOutputFormat* f = av_guess_format(format.empty() ? nullptr : format.c_str(), path.c_str(), nullptr);
  return f != nullptr && FormatStoresRotation(f);
}

struct VideoWriter::Impl {
  AVFormatContext* fmt = nullptr;
  ff::CodecContextPtr enc;
  ff::FramePtr frame{av_frame_alloc()};
  ff::PacketPtr packet{av_packet_alloc()};
  ff::Converter converter;
  AVStream* stream = nullptr;
  int64_t frame_ticks = 1;  // 1/fps in the encoder time base
  int64_t frames = 0;       // written so far
  int64_t last_pts = 0;
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

  absl::Status Encode(const uint8_t* rgb, AVPixelFormat rgb_fmt, int64_t pts) {
    if (closed) return absl::FailedPreconditionError("writer is closed");
    if (pts < 0) {
      pts = frames == 0 ? 0 : last_pts + frame_ticks;
    } else if (frames > 0 && pts <= last_pts) {
      return absl::InvalidArgumentError(
          absl::StrCat("pts ", pts, " is not after the previous frame's ", last_pts, " (", path, ")"));
    }
    int ret = av_frame_make_writable(frame.get());
    if (ret < 0) return ff::Error("av_frame_make_writable", ret);
    if (absl::Status s = converter.FromRgb(rgb, frame.get(), enc->colorspace, enc->color_range, rgb_fmt); !s.ok()) {
      return s;
    }
    frame->pts = pts;
    last_pts = pts;
    ++frames;
    return Drain(false);
  }

  absl::Status Drain(bool flush) {
    int ret = avcodec_send_frame(enc.get(), flush ? nullptr : frame.get());
    if (ret < 0) return ff::Error("encoding failed", ret);
    while (true) {
      ret = avcodec_receive_packet(enc.get(), packet.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return absl::OkStatus();
      if (ret < 0) return ff::Error("encoding failed", ret);
      // Encoders given explicit timestamps leave durations unset; mp4 then
      // gives the last frame none, so its edit list (and demuxers) drop it
      // and the frame rate reads one frame short. A frame lasts 1/fps.
      if (packet->duration <= 0) packet->duration = av_rescale_q(1, av_inv_q(enc->framerate), enc->time_base);
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
  if (o.rotation_degrees % 360 != 0 && !FormatStoresRotation(impl->fmt->oformat)) {
    return absl::InvalidArgumentError(absl::StrCat(impl->fmt->oformat->name, " cannot store a display rotation (",
                                                   o.rotation_degrees, " degrees asked for ", path,
                                                   "); mov and mp4 can"));
  }
  std::string codec_name = o.codec;
  if (codec_name.empty()) {
    const AVCodec* guessed =
        avcodec_find_encoder(av_guess_codec(impl->fmt->oformat, nullptr, path.c_str(), nullptr, AVMEDIA_TYPE_VIDEO));
    if (guessed == nullptr) return absl::NotFoundError(absl::StrCat("no default video encoder for ", path));
    codec_name = guessed->name;
  }
  if (codec_name == "prores") codec_name = "prores_ks";
  const AVCodec* codec = avcodec_find_encoder_by_name(codec_name.c_str());
  if (codec == nullptr) return absl::NotFoundError(absl::StrCat("no encoder named ", codec_name));
  if (o.time_base_num < 0 || o.time_base_den < 0 || (o.time_base_num == 0) != (o.time_base_den == 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("time base ", o.time_base_num, "/", o.time_base_den, " is not a positive fraction (or 0/0)"));
  }
  impl->enc.reset(avcodec_alloc_context3(codec));
  AVCodecContext* enc = impl->enc.get();
  enc->width = width;
  enc->height = height;
  const AVRational rate = av_d2q(o.fps, 100000);
  enc->time_base = o.time_base_num > 0 ? AVRational{o.time_base_num, o.time_base_den} : av_inv_q(rate);
  enc->framerate = rate;
  impl->frame_ticks = std::max<int64_t>(1, av_rescale_q(1, av_inv_q(rate), enc->time_base));
  enc->thread_count = std::max(1, o.threads);
  if (o.gop > 0) enc->gop_size = o.gop;
  if (o.bitrate > 0) enc->bit_rate = o.bitrate;
  std::string pix = o.pix_fmt;
  if (pix.empty()) {
    if (codec->id == AV_CODEC_ID_MJPEG) {
      pix = "yuvj420p";
    } else if (CheckPixFmt(codec, AV_PIX_FMT_YUV420P).ok()) {
      pix = "yuv420p";
    } else {
      pix = av_get_pix_fmt_name(codec->pix_fmts[0]);
    }
  }
  enc->pix_fmt = av_get_pix_fmt(pix.c_str());
  if (enc->pix_fmt == AV_PIX_FMT_NONE) return absl::InvalidArgumentError(absl::StrCat("unknown pix_fmt ", pix));
  if (absl::Status s = CheckPixFmt(codec, enc->pix_fmt); !s.ok()) return s;
  const bool rgb = av_pix_fmt_desc_get(enc->pix_fmt)->flags & AV_PIX_FMT_FLAG_RGB;
  const bool jfif = codec->id == AV_CODEC_ID_MJPEG;
  const bool full = o.full_range || rgb || jfif || enc->pix_fmt == AV_PIX_FMT_YUVJ420P ||
                    enc->pix_fmt == AV_PIX_FMT_YUVJ422P || enc->pix_fmt == AV_PIX_FMT_YUVJ444P;
  const AVColorSpace matrix = jfif ? AVCOL_SPC_BT470BG : ff::ParseMatrix(o.color_matrix);
  enc->colorspace = rgb ? AVCOL_SPC_RGB : matrix;
  enc->color_range = full ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
  if (matrix == AVCOL_SPC_BT709) {
    enc->color_primaries = AVCOL_PRI_BT709;
    enc->color_trc = AVCOL_TRC_BT709;
  } else if (matrix == AVCOL_SPC_BT2020_NCL) {
    enc->color_primaries = AVCOL_PRI_BT2020;
    enc->color_trc = AVCOL_TRC_BT2020_10;
  } else if (jfif) {
    // JFIF names a matrix and a range, neither primaries nor a transfer.
    enc->color_primaries = AVCOL_PRI_UNSPECIFIED;
    enc->color_trc = AVCOL_TRC_UNSPECIFIED;
  } else {
    enc->color_primaries = AVCOL_PRI_SMPTE170M;
    enc->color_trc = AVCOL_TRC_SMPTE170M;
  }
  if (!o.color_primaries.empty()) {
    absl::StatusOr<int> v = ParseTag(o.color_primaries, av_color_primaries_from_name, "color_primaries");
    if (!v.ok()) return v.status();
    enc->color_primaries = static_cast<AVColorPrimaries>(*v);
  }
  if (!o.color_trc.empty()) {
    absl::StatusOr<int> v = ParseTag(o.color_trc, av_color_transfer_from_name, "color_trc");
    if (!v.ok()) return v.status();
    enc->color_trc = static_cast<AVColorTransferCharacteristic>(*v);
  }
  if (o.qscale > 0) {
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * o.qscale;
  }
  if (impl->fmt->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  AVDictionary* opts = nullptr;
  ff::SetX26xOptions(codec_name, o.preset, o.crf, &opts);
  if (codec_name == "libvpx-vp9") {
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
  if (o.rotation_degrees % 360 != 0) {
    uint8_t* matrix = av_stream_new_side_data(impl->stream, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
    if (matrix == nullptr) return absl::ResourceExhaustedError("av_stream_new_side_data");
    // av_display_rotation_set takes a clockwise angle, av_display_rotation_get
    // reports a counterclockwise one.
    av_display_rotation_set(reinterpret_cast<int32_t*>(matrix), -o.rotation_degrees);
  }
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

namespace {

// Writing fails late (a full disk, a folder that went away): say which file.
absl::Status Naming(const std::string& path, absl::Status s) {
  return s.ok() ? s : absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
}

}  // namespace

absl::Status VideoWriter::Write(const Frame& frame, int64_t pts) {
  if (frame.w != impl_->enc->width || frame.h != impl_->enc->height) {
    return absl::InvalidArgumentError(absl::StrCat(impl_->path, ": frame is ", frame.w, "x", frame.h, ", the stream ",
                                                   impl_->enc->width, "x", impl_->enc->height));
  }
  return Write(frame.rgb.data(), pts);
}

absl::Status VideoWriter::Write(const uint8_t* rgb, int64_t pts) {
  return Naming(impl_->path, impl_->Encode(rgb, AV_PIX_FMT_RGB24, pts));
}

absl::Status VideoWriter::Write16(const uint16_t* rgb48, int64_t pts) {
  return Naming(impl_->path, impl_->Encode(reinterpret_cast<const uint8_t*>(rgb48), AV_PIX_FMT_RGB48, pts));
}

absl::Status VideoWriter::Close() {
  Impl& m = *impl_;
  if (m.closed) return absl::OkStatus();
  m.closed = true;
  absl::Status s = m.Drain(true);
  const int ret = av_write_trailer(m.fmt);
  if (s.ok() && ret < 0) s = ff::Error("writing the trailer failed", ret);
  if (!(m.fmt->oformat->flags & AVFMT_NOFILE)) avio_closep(&m.fmt->pb);
  return Naming(m.path, s);
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
