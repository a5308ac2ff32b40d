#include "seedvr/data/video_reader.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "seedvr/core/io.h"
#include "seedvr/data/ffmpeg_common.h"
#include "seedvr/data/log.h"

extern "C" {
#include <libavutil/display.h>
}

namespace seedvr::data {
namespace {

// Rotates a packed w x h picture counterclockwise by `quarter_turns` x 90
// degrees into `dst` (h x w for odd turns).
void RotatePixels(const uint8_t* src, int w, int h, size_t pixel_bytes, int quarter_turns, uint8_t* dst) {
  const int dw = quarter_turns % 2 == 1 ? h : w;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      int dx = x, dy = y;
      if (quarter_turns == 1) {
        dx = y, dy = w - 1 - x;
      } else if (quarter_turns == 2) {
        dx = w - 1 - x, dy = h - 1 - y;
      } else if (quarter_turns == 3) {
        dx = h - 1 - y, dy = x;
      }
      std::copy_n(src + (static_cast<size_t>(y) * w + x) * pixel_bytes, pixel_bytes,
                  dst + (static_cast<size_t>(dy) * dw + dx) * pixel_bytes);
    }
  }
}

// The picture size stream `index` of `path` declares, learnt with decoders
// that stop after the headers (skip_frame): for a stream whose decoders
// refused the picture under max_pixels, so the error can name its size.
// 0 x 0 when the decoder needs a picture for it.
std::pair<int, int> DeclaredSize(const std::string& path, int index) {
  AVFormatContext* fmt = nullptr;
  if (avformat_open_input(&fmt, path.c_str(), nullptr, nullptr) < 0) return {0, 0};
  std::vector<AVDictionary*> opts(fmt->nb_streams, nullptr);
  for (AVDictionary*& d : opts) av_dict_set(&d, "skip_frame", "all", 0);
  std::pair<int, int> size{0, 0};
  if (avformat_find_stream_info(fmt, opts.data()) >= 0 && index < static_cast<int>(fmt->nb_streams)) {
    size = {fmt->streams[index]->codecpar->width, fmt->streams[index]->codecpar->height};
  }
  for (AVDictionary*& d : opts) av_dict_free(&d);
  avformat_close_input(&fmt);
  return size;
}

}  // namespace

struct VideoReader::Impl {
  AVFormatContext* fmt = nullptr;
  ff::CodecContextPtr dec;
  ff::FramePtr frame{av_frame_alloc()};
  ff::PacketPtr packet{av_packet_alloc()};
  ff::Converter converter;
  int stream = -1;
  AVRational tb{1, 1};
  int64_t start_pts = 0;
  bool eof_sent = false;
  bool drained = false;
  int64_t next_index = 0;     // index the next decoded frame is expected to have
  int64_t discard_before = -1;  // after a seek: drop frames with index < this
  VideoInfo info;
  int quarter_turns = 0;  // counterclockwise, applied to the pixels (upright)
  int stored_w = 0, stored_h = 0;
  std::vector<uint8_t> stored;  // a frame as stored, before rotation
  double timeout_s = 0;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();

  // Every blocking FFmpeg call of an operation polls this through
  // AVIOInterruptCB; StartOperation gives the operation its time.
  static int Interrupted(void* self) {
    return std::chrono::steady_clock::now() > static_cast<Impl*>(self)->deadline ? 1 : 0;
  }
  void StartOperation() {
    if (timeout_s > 0) {
      deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                        std::chrono::duration<double>(timeout_s));
    }
  }
  // An FFmpeg error, or the time limit when the interrupt callback ended it.
  absl::Status Failed(const std::string& what, int errnum) const {
    if (errnum == AVERROR_EXIT && Interrupted(const_cast<Impl*>(this))) {
      return absl::DeadlineExceededError(absl::StrCat(what, ": no result within ", timeout_s, " s (stuck input?)"));
    }
    return ff::Error(what, errnum);
  }

  ~Impl() {
    dec.reset();
    if (fmt != nullptr) avformat_close_input(&fmt);
  }

  int64_t IndexOf(int64_t pts) const {
    if (pts == AV_NOPTS_VALUE) return next_index;
    const double t = static_cast<double>(pts - start_pts) * av_q2d(tb);
    return static_cast<int64_t>(std::llround(t * info.fps));
  }
  int64_t PtsOf(int64_t index) const {
    return start_pts + static_cast<int64_t>(std::llround(static_cast<double>(index) / info.fps / av_q2d(tb)));
  }

  // Receives one decoded frame into `frame`. false at end of stream.
  absl::StatusOr<bool> Decode() {
    while (true) {
      int ret = avcodec_receive_frame(dec.get(), frame.get());
      if (ret == 0) return true;
      if (ret == AVERROR_EOF) {
        drained = true;
        return false;
      }
      if (ret != AVERROR(EAGAIN)) return ff::Error(absl::StrCat("decoding ", info.codec, " failed"), ret);
      if (eof_sent) {
        drained = true;
        return false;
      }
      ret = av_read_frame(fmt, packet.get());
      if (ret == AVERROR_EOF && Interrupted(this)) return Failed("reading the container failed", AVERROR_EXIT);
      if (ret == AVERROR_EOF) {
        avcodec_send_packet(dec.get(), nullptr);
        eof_sent = true;
        continue;
      }
      if (ret < 0) return Failed("reading the container failed", ret);
      if (packet->stream_index != stream) {
        av_packet_unref(packet.get());
        continue;
      }
      ret = avcodec_send_packet(dec.get(), packet.get());
      av_packet_unref(packet.get());
      if (ret < 0 && ret != AVERROR(EAGAIN)) {
        return ff::Error(absl::StrCat("decoding ", info.codec, " failed"), ret);
      }
    }
  }

  absl::Status SeekPts(int64_t pts) {
    int ret = av_seek_frame(fmt, stream, pts, AVSEEK_FLAG_BACKWARD);
    if (ret < 0) {
      // Some demuxers only seek by byte or to the start; fall back to the start.
      ret = avformat_seek_file(fmt, stream, INT64_MIN, start_pts, start_pts, 0);
      if (ret < 0) return Failed("seeking failed", ret);
    }
    avcodec_flush_buffers(dec.get());
    eof_sent = false;
    drained = false;
    return absl::OkStatus();
  }
};

VideoReader::VideoReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoReader::~VideoReader() = default;
const VideoInfo& VideoReader::info() const { return impl_->info; }

absl::StatusOr<std::unique_ptr<VideoReader>> VideoReader::Open(const std::string& path,
                                                               const ReaderOptions& options) {
  ff::InitFfmpegOnce();
  // A FIFO would block the open until a writer appears, a directory reads as
  // garbage. An image sequence pattern ("%06d.png") names no file itself.
  std::error_code exists_ec;
  if (std::filesystem::exists(path, exists_ec) || path.find('%') == std::string::npos) {
    if (absl::StatusOr<uint64_t> file = core::CheckInputFile(path, "video"); !file.ok()) return file.status();
  }
  auto impl = std::make_unique<Impl>();
  impl->timeout_s = options.timeout_s;
  impl->fmt = avformat_alloc_context();
  if (impl->fmt == nullptr) return absl::InternalError("avformat_alloc_context failed");
  impl->fmt->interrupt_callback = {&Impl::Interrupted, impl.get()};
  impl->StartOperation();
  int ret = avformat_open_input(&impl->fmt, path.c_str(), nullptr, nullptr);
  if (ret < 0) {
    impl->fmt = nullptr;  // freed by avformat_open_input
    if (ret == AVERROR_EXIT) return impl->Failed("cannot open container", ret);
    return absl::InvalidArgumentError(absl::StrCat("cannot open container: ", ff::ErrorString(ret)));
  }
  // The pixel limit binds the decoders avformat_find_stream_info opens too,
  // so a file declaring a huge picture fails before a frame is allocated.
  const std::string max_pixels = std::to_string(options.max_frame_pixels > 0 ? options.max_frame_pixels : INT_MAX);
  std::vector<AVDictionary*> stream_opts(impl->fmt->nb_streams, nullptr);
  for (AVDictionary*& d : stream_opts) av_dict_set(&d, "max_pixels", max_pixels.c_str(), 0);
  ret = avformat_find_stream_info(impl->fmt, stream_opts.data());
  for (AVDictionary*& d : stream_opts) av_dict_free(&d);
  if (ret == AVERROR_EXIT) return impl->Failed("cannot read stream info", ret);
  if (ret < 0) return absl::InvalidArgumentError(absl::StrCat("cannot read stream info: ", ff::ErrorString(ret)));
  const AVCodec* codec = nullptr;
  ret = av_find_best_stream(impl->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (ret == AVERROR_DECODER_NOT_FOUND) {
    return absl::UnimplementedError("no decoder for the video stream's codec");
  }
  if (ret < 0) return absl::InvalidArgumentError("no video stream");
  impl->stream = ret;
  AVStream* st = impl->fmt->streams[ret];
  auto [width, height] = std::pair<int, int>{st->codecpar->width, st->codecpar->height};
  if ((width <= 0 || height <= 0) && options.max_frame_pixels > 0) std::tie(width, height) = DeclaredSize(path, ret);
  const int64_t pixels = int64_t{width} * height;
  if (options.max_frame_pixels > 0 && pixels > options.max_frame_pixels) {
    return absl::ResourceExhaustedError(absl::StrCat("frames of ", width, "x", height, " = ", pixels,
                                                     " pixels exceed the limit of ", options.max_frame_pixels,
                                                     " pixels per frame"));
  }
  if (st->codecpar->width <= 0 || st->codecpar->height <= 0) {
    return absl::InvalidArgumentError("video stream has no picture size");
  }
  impl->dec.reset(avcodec_alloc_context3(codec));
  avcodec_parameters_to_context(impl->dec.get(), st->codecpar);
  impl->dec->thread_count = std::max(1, options.threads);
  impl->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  if (options.max_frame_pixels > 0) impl->dec->max_pixels = options.max_frame_pixels;
  ret = avcodec_open2(impl->dec.get(), codec, nullptr);
  if (ret < 0) return absl::UnimplementedError(absl::StrCat("cannot open decoder: ", ff::ErrorString(ret)));
  // JPEG (JFIF) is BT.601 whatever the picture's height: the fallback for
  // frames that carry no matrix of their own.
  if (codec->id == AV_CODEC_ID_MJPEG && impl->dec->colorspace == AVCOL_SPC_UNSPECIFIED) {
    impl->dec->colorspace = AVCOL_SPC_BT470BG;
  }

  impl->tb = st->time_base;
  impl->start_pts = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  VideoInfo& info = impl->info;
  info.path = path;
  info.container = impl->fmt->iformat->name;
  info.codec = codec->name;
  info.width = st->codecpar->width;
  info.height = st->codecpar->height;
  const auto pix_fmt = static_cast<AVPixelFormat>(st->codecpar->format);
  const char* pf = av_get_pix_fmt_name(pix_fmt);
  info.pix_fmt = pf ? pf : "unknown";
  if (const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(pix_fmt)) {
    info.bits_per_component = desc->comp[0].depth;
    info.has_alpha = (desc->flags & AV_PIX_FMT_FLAG_ALPHA) != 0;
  }
  const char* cs = av_color_space_name(st->codecpar->color_space);
  info.color_matrix = cs ? cs : "unknown";
  const char* cp = av_color_primaries_name(st->codecpar->color_primaries);
  info.color_primaries = cp ? cp : "unknown";
  const char* trc = av_color_transfer_name(st->codecpar->color_trc);
  info.color_trc = trc ? trc : "unknown";
  size_t matrix_size = 0;
  const uint8_t* matrix = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &matrix_size);
  if (matrix != nullptr && matrix_size >= 9 * sizeof(int32_t)) {
    const double degrees = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
    if (std::isfinite(degrees)) info.rotation_degrees = ((static_cast<int>(std::lround(degrees)) % 360) + 360) % 360;
  }
  impl->stored_w = info.width;
  impl->stored_h = info.height;
  if (options.upright) {
    impl->quarter_turns = ((info.rotation_degrees + 45) / 90) % 4;
    if (impl->quarter_turns % 2 == 1) std::swap(info.width, info.height);
    info.rotation_degrees = 0;
  }
  info.full_range = ff::IsFullRange(st->codecpar->color_range, pix_fmt);
  AVRational rate = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = av_guess_frame_rate(impl->fmt, st, nullptr);
  info.fps = rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 25.0;
  info.time_base_s = av_q2d(st->time_base);
  info.time_base_num = st->time_base.num;
  info.time_base_den = st->time_base.den;
  info.start_pts = impl->start_pts;
  if (st->duration != AV_NOPTS_VALUE && st->duration > 0) {
    info.duration_s = st->duration * av_q2d(st->time_base);
  } else if (impl->fmt->duration > 0) {
    info.duration_s = static_cast<double>(impl->fmt->duration) / AV_TIME_BASE;
  }
  // The container's count, else the duration's estimate: hints.
  const bool stored = st->nb_frames > 0;
  info.frame_count = stored ? st->nb_frames : static_cast<int64_t>(std::llround(info.duration_s * info.fps));
  info.frame_count_exact = stored;
  // A still image has no duration to estimate from: its packets are cheap.
  if (options.exact_frame_count || info.frame_count <= 0) {
    int64_t n = 0;
    while ((ret = av_read_frame(impl->fmt, impl->packet.get())) >= 0) {
      if (impl->packet->stream_index == impl->stream) ++n;
      av_packet_unref(impl->packet.get());
    }
    if (ret != AVERROR_EOF || impl->Interrupted(impl.get())) return impl->Failed("counting the frames failed", ret);
    // A duration estimate is rounded: only a stored count must match exactly.
    if (stored ? n != info.frame_count : std::abs(n - info.frame_count) > 1) {
      DataLog(LogLevel::kWarning,
              absl::StrFormat(
                  "%s: the container %s %d frames, its video stream holds %d: using %d", path,
                  stored ? "stores a count of" : absl::StrFormat("duration (%.3f s) x rate suggests", info.duration_s),
                  info.frame_count, n, n));
    }
    info.frame_count = n;
    info.frame_count_exact = true;
    if (absl::Status s = impl->SeekPts(impl->start_pts); !s.ok()) return s;
  }
  if (info.frame_count <= 0) return absl::InvalidArgumentError("video stream has no frames");
  return std::unique_ptr<VideoReader>(new VideoReader(std::move(impl)));
}

absl::Status VideoReader::SeekToFrame(int64_t index) {
  Impl& m = *impl_;
  m.StartOperation();
  if (index < 0) index = 0;
  // Close ahead: decoding forward is cheaper than a seek + GOP re-decode.
  if (index >= m.next_index && index - m.next_index <= 8 && !m.drained) {
    m.discard_before = index;
    return absl::OkStatus();
  }
  // Seek to the keyframe at or before the target; if the demuxer lands after
  // the target (imprecise index), back off further, finally to the start.
  int64_t back_frames = 0;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const int64_t target = std::max<int64_t>(0, index - back_frames);
    const int64_t pts = attempt == 3 ? m.start_pts : m.PtsOf(target);
    if (absl::Status s = m.SeekPts(pts); !s.ok()) return s;
    absl::StatusOr<bool> got = m.Decode();
    if (!got.ok()) return got.status();
    if (!*got) {  // seeked past the end: retry earlier
      back_frames = std::max<int64_t>(back_frames * 4, static_cast<int64_t>(m.info.fps) + 1);
      continue;
    }
    const int64_t first = m.IndexOf(m.frame->best_effort_timestamp);
    if (first <= index || attempt == 3) {
      // Keep the decoded frame: Read() converts it if it is the target.
      m.next_index = first;
      m.discard_before = index;
      pending_ = true;
      return absl::OkStatus();
    }
    back_frames = std::max<int64_t>(back_frames * 4, static_cast<int64_t>(m.info.fps) + 1);
  }
  return absl::InternalError("seek failed");
}

absl::Status VideoReader::SeekToTime(double seconds) {
  return SeekToFrame(static_cast<int64_t>(std::ceil(seconds * impl_->info.fps - 1e-6)));
}

absl::StatusOr<bool> VideoReader::Read(Frame* out, int64_t* index, double* time_s, int64_t* pts) {
  out->w = impl_->info.width;
  out->h = impl_->info.height;
  out->rgb.resize(static_cast<size_t>(out->w) * out->h * 3);
  return ReadInto(out->rgb.data(), index, time_s, pts);
}

absl::StatusOr<bool> VideoReader::ReadInto(uint8_t* rgb, int64_t* index, double* time_s, int64_t* pts_out) {
  return ReadAs(rgb, AV_PIX_FMT_RGB24, index, time_s, pts_out);
}

absl::StatusOr<bool> VideoReader::ReadInto16(uint16_t* rgb48, int64_t* index, double* time_s, int64_t* pts_out) {
  return ReadAs(reinterpret_cast<uint8_t*>(rgb48), AV_PIX_FMT_RGB48, index, time_s, pts_out);
}

absl::StatusOr<bool> VideoReader::ReadAs(uint8_t* rgb, int rgb_fmt, int64_t* index, double* time_s, int64_t* pts_out) {
  Impl& m = *impl_;
  m.StartOperation();
  while (true) {
    if (!pending_) {
      absl::StatusOr<bool> got = m.Decode();
      if (!got.ok()) return got.status();
      if (!*got) return false;
    }
    pending_ = false;
    const int64_t pts = m.frame->best_effort_timestamp;
    int64_t idx = m.IndexOf(pts);
    bool timed = pts != AV_NOPTS_VALUE;
    if (idx < m.next_index - 1 && timed) {
      // Timestamps going backward: trust the running count instead.
      idx = m.next_index;
      timed = false;
    }
    const double t = timed ? static_cast<double>(pts - m.start_pts) * av_q2d(m.tb) : idx / m.info.fps;
    m.next_index = idx + 1;
    if (m.discard_before >= 0 && idx < m.discard_before) {
      av_frame_unref(m.frame.get());
      continue;
    }
    m.discard_before = -1;
    if (m.frame->width != m.stored_w || m.frame->height != m.stored_h) {
      av_frame_unref(m.frame.get());
      return absl::DataLossError("picture size changed mid-stream");
    }
    const auto fmt = static_cast<AVPixelFormat>(rgb_fmt);
    const size_t pixel_bytes = av_image_get_linesize(fmt, 1, 0);
    if (m.quarter_turns != 0) m.stored.resize(pixel_bytes * m.stored_w * m.stored_h);
    absl::Status s = m.converter.ToRgb(m.frame.get(), m.dec->colorspace, m.dec->color_range,
                                       m.quarter_turns != 0 ? m.stored.data() : rgb, fmt);
    av_frame_unref(m.frame.get());
    if (!s.ok()) return s;
    if (m.quarter_turns != 0) RotatePixels(m.stored.data(), m.stored_w, m.stored_h, pixel_bytes, m.quarter_turns, rgb);
    if (index != nullptr) *index = idx;
    if (time_s != nullptr) *time_s = t;
    if (pts_out != nullptr) *pts_out = timed ? pts : m.PtsOf(idx);
    return true;
  }
}

absl::StatusOr<VideoInfo> ProbeVideo(const std::string& path, const ReaderOptions& options) {
  absl::StatusOr<std::unique_ptr<VideoReader>> r = VideoReader::Open(path, options);
  if (!r.ok()) return r.status();
  return (*r)->info();
}

absl::StatusOr<Clip> ReadClip(const std::string& path, int64_t start, int count, const ReaderOptions& options,
                              int* padded, std::vector<double>* time_s) {
  absl::StatusOr<std::unique_ptr<VideoReader>> opened = VideoReader::Open(path, options);
  if (!opened.ok()) return opened.status();
  VideoReader& reader = **opened;
  const VideoInfo& info = reader.info();
  Clip clip(count, info.width, info.height);
  clip.fps = info.fps;
  if (start > 0) {
    if (absl::Status s = reader.SeekToFrame(start); !s.ok()) return s;
  }
  int got = 0;
  int64_t last_index = start - 1;
  if (time_s != nullptr) time_s->clear();
  while (got < count) {
    double t = 0.0;
    absl::StatusOr<bool> r = reader.ReadInto(clip.frame(got), &last_index, &t);
    if (!r.ok()) {
      return absl::Status(r.status().code(),
                          absl::StrCat(r.status().message(), " (at frame ", last_index + 1, ")"));
    }
    if (!*r) break;
    if (time_s != nullptr) time_s->push_back(t);
    ++got;
  }
  if (got == 0) {
    return absl::OutOfRangeError(absl::StrCat("no frame could be decoded from frame ", start, " (stream reports ",
                                              info.frame_count, " frames)"));
  }
  if (got < count && info.frame_count_exact && last_index + 1 < info.frame_count - 2) {
    return absl::DataLossError(absl::StrCat("stream ends at frame ", last_index + 1, " of ", info.frame_count,
                                            " (truncated?)"));
  }
  if (padded == nullptr) {
    if (got < count) {  // no padding asked for: the frames the decoder delivered
      clip.t = got;
      clip.rgb.resize(clip.frame_bytes() * got);
      clip.rgb.shrink_to_fit();
    }
    return clip;
  }
  for (int i = got; i < count; ++i) std::copy(clip.frame(got - 1), clip.frame(got), clip.frame(i));
  if (time_s != nullptr) time_s->resize(count, time_s->back());
  *padded = count - got;
  return clip;
}

}  // namespace seedvr::data
