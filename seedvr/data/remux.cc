#include "seedvr/data/remux.h"

#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "seedvr/data/ffmpeg_common.h"

namespace seedvr::data {
namespace {

bool ToCopy(const AVStream* s) {
  return s->codecpar->codec_type == AVMEDIA_TYPE_AUDIO || s->codecpar->codec_type == AVMEDIA_TYPE_SUBTITLE;
}

// An input file, the output stream each of its streams goes to (-1: none),
// and its next packet for the output.
struct Input {
  AVFormatContext* ctx = nullptr;
  std::vector<int> map;
  ff::PacketPtr packet{av_packet_alloc()};
  bool has_packet = false;
  ~Input() { avformat_close_input(&ctx); }
  absl::Status Open(const std::string& path) {
    ff::InitFfmpegOnce();
    int r = avformat_open_input(&ctx, path.c_str(), nullptr, nullptr);
    if (r >= 0) r = avformat_find_stream_info(ctx, nullptr);
    if (r < 0) return absl::InvalidArgumentError(absl::StrCat("cannot open ", path, ": ", ff::ErrorString(r)));
    map.assign(ctx->nb_streams, -1);
    return absl::OkStatus();
  }
  // Reads the next packet of a mapped stream; like ffmpeg, a read error ends
  // the input (a damaged tail loses its packets, not the output).
  void Advance() {
    while ((has_packet = av_read_frame(ctx, packet.get()) >= 0)) {
      if (map[packet->stream_index] >= 0) return;
      av_packet_unref(packet.get());
    }
  }
  AVRational TimeBase() const { return ctx->streams[packet->stream_index]->time_base; }
  // Whether the next packet goes out before `other`'s (one without a
  // timestamp goes at once).
  bool Before(const Input& other) const {
    if (packet->dts == AV_NOPTS_VALUE) return true;
    if (other.packet->dts == AV_NOPTS_VALUE) return false;
    return av_compare_ts(packet->dts, TimeBase(), other.packet->dts, other.TimeBase()) < 0;
  }
};

struct Output {
  AVFormatContext* ctx = nullptr;
  ~Output() {
    if (ctx != nullptr && !(ctx->oformat->flags & AVFMT_NOFILE)) avio_closep(&ctx->pb);
    avformat_free_context(ctx);
  }
  // Adds a copy of `src` (parameters, metadata, disposition, side data);
  // returns its index, -1 on failure.
  int Add(const AVStream* src) {
    AVStream* dst = avformat_new_stream(ctx, nullptr);
    if (dst == nullptr || avcodec_parameters_copy(dst->codecpar, src->codecpar) < 0) return -1;
    dst->codecpar->codec_tag = 0;  // the output container picks its own tag
    dst->time_base = src->time_base;
    dst->disposition = src->disposition;
    if (av_dict_copy(&dst->metadata, src->metadata, 0) < 0) return -1;
    for (int i = 0; i < src->nb_side_data; ++i) {
      const AVPacketSideData& sd = src->side_data[i];
      uint8_t* data = av_stream_new_side_data(dst, sd.type, sd.size);
      if (data == nullptr) return -1;
      std::memcpy(data, sd.data, sd.size);
    }
    return dst->index;
  }
};

}  // namespace

absl::StatusOr<bool> HasStreamsToCopy(const std::string& path) {
  Input in;
  if (auto s = in.Open(path); !s.ok()) return s;
  for (unsigned i = 0; i < in.ctx->nb_streams; ++i) {
    if (ToCopy(in.ctx->streams[i])) return true;
  }
  return false;
}

absl::Status CopyStreams(const std::string& video, const std::string& source, const std::string& output) {
  Input vin, sin;
  if (auto s = vin.Open(video); !s.ok()) return s;
  if (auto s = sin.Open(source); !s.ok()) return s;
  Output out;
  int r = avformat_alloc_output_context2(&out.ctx, nullptr, nullptr, output.c_str());
  if (r < 0) return absl::InvalidArgumentError(absl::StrCat("cannot write ", output, ": ", ff::ErrorString(r)));

  const int v = av_find_best_stream(vin.ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (v < 0) return absl::InvalidArgumentError(absl::StrCat(video, " has no video stream"));
  vin.map[v] = out.Add(vin.ctx->streams[v]);
  if (vin.map[v] < 0) return absl::InternalError(absl::StrCat("cannot add the video stream to ", output));
  for (unsigned i = 0; i < sin.ctx->nb_streams; ++i) {
    const AVStream* s = sin.ctx->streams[i];
    // A codec the container cannot hold (AAC or mov_text in WebM) is left out.
    if (!ToCopy(s) || avformat_query_codec(out.ctx->oformat, s->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
      continue;
    }
    sin.map[i] = out.Add(s);
    if (sin.map[i] < 0) {
      return absl::InternalError(absl::StrCat("cannot add stream ", i, " of ", source, " to ", output));
    }
  }

  if (!(out.ctx->oformat->flags & AVFMT_NOFILE)) {
    r = avio_open(&out.ctx->pb, output.c_str(), AVIO_FLAG_WRITE);
    if (r < 0) return absl::UnavailableError(absl::StrCat("cannot write ", output, ": ", ff::ErrorString(r)));
  }
  r = avformat_write_header(out.ctx, nullptr);
  if (r < 0) return absl::InternalError(absl::StrCat("cannot write ", output, ": ", ff::ErrorString(r)));
  // Packets go out in time order across the two inputs, so the muxer's
  // interleaving queue stays short however long the video is.
  vin.Advance();
  sin.Advance();
  while (r >= 0 && (vin.has_packet || sin.has_packet)) {
    Input& in = !sin.has_packet || (vin.has_packet && !sin.Before(vin)) ? vin : sin;
    const int to = in.map[in.packet->stream_index];
    // mp4 demuxers report no durations; the muxer would give the last frame
    // none, and its edit list would then drop that frame. A frame lasts
    // 1/fps.
    const AVStream* src = in.ctx->streams[in.packet->stream_index];
    if (in.packet->duration <= 0 && src->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && src->avg_frame_rate.num > 0) {
      in.packet->duration = av_rescale_q(1, av_inv_q(src->avg_frame_rate), src->time_base);
    }
    av_packet_rescale_ts(in.packet.get(), in.TimeBase(), out.ctx->streams[to]->time_base);
    in.packet->stream_index = to;
    in.packet->pos = -1;
    r = av_interleaved_write_frame(out.ctx, in.packet.get());  // takes the packet's data
    in.Advance();
  }
  if (r < 0) return absl::InternalError(absl::StrCat("writing ", output, ": ", ff::ErrorString(r)));
  r = av_write_trailer(out.ctx);
  if (r < 0) return absl::InternalError(absl::StrCat("writing ", output, ": ", ff::ErrorString(r)));
  return absl::OkStatus();
}

}  // namespace seedvr::data
