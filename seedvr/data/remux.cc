#include "seedvr/data/remux.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include <vector>

#include "absl/strings/str_cat.h"

namespace seedvr::data {
namespace {

std::string AvError(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof(buf));
  return buf;
}

struct Input {
  AVFormatContext* ctx = nullptr;
  ~Input() { avformat_close_input(&ctx); }
  absl::Status Open(const std::string& path) {
    int r = avformat_open_input(&ctx, path.c_str(), nullptr, nullptr);
    if (r >= 0) r = avformat_find_stream_info(ctx, nullptr);
    if (r < 0) return absl::InvalidArgumentError(absl::StrCat("cannot open ", path, ": ", AvError(r)));
    return absl::OkStatus();
  }
};

struct Output {
  AVFormatContext* ctx = nullptr;
  ~Output() {
    if (ctx != nullptr && !(ctx->oformat->flags & AVFMT_NOFILE)) avio_closep(&ctx->pb);
    avformat_free_context(ctx);
  }
};

}  // namespace

absl::StatusOr<bool> HasAudio(const std::string& path) {
  Input in;
  if (auto s = in.Open(path); !s.ok()) return s;
  return av_find_best_stream(in.ctx, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) >= 0;
}

absl::Status MuxAudio(const std::string& video, const std::string& audio_source, const std::string& output) {
  Input vin, ain;
  if (auto s = vin.Open(video); !s.ok()) return s;
  if (auto s = ain.Open(audio_source); !s.ok()) return s;
  Output out;
  int r = avformat_alloc_output_context2(&out.ctx, nullptr, nullptr, output.c_str());
  if (r < 0) return absl::InvalidArgumentError(absl::StrCat("cannot write ", output, ": ", AvError(r)));

  // Per input: input stream index -> output stream index (-1: dropped).
  std::vector<int> vmap(vin.ctx->nb_streams, -1), amap(ain.ctx->nb_streams, -1);
  auto add = [&](AVStream* src) -> int {
    AVStream* dst = avformat_new_stream(out.ctx, nullptr);
    if (dst == nullptr || avcodec_parameters_copy(dst->codecpar, src->codecpar) < 0) return -1;
    dst->codecpar->codec_tag = 0;
    dst->time_base = src->time_base;
    return dst->index;
  };
  const int v = av_find_best_stream(vin.ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (v < 0) return absl::InvalidArgumentError(absl::StrCat(video, " has no video stream"));
  vmap[v] = add(vin.ctx->streams[v]);
  for (unsigned i = 0; i < ain.ctx->nb_streams; ++i) {
    AVStream* s = ain.ctx->streams[i];
    if (s->codecpar->codec_type != AVMEDIA_TYPE_AUDIO) continue;
    // A codec the container cannot hold (AAC in WebM, say) is left out.
    if (avformat_query_codec(out.ctx->oformat, s->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) continue;
    amap[i] = add(s);
  }
  if (vmap[v] < 0) return absl::InternalError(absl::StrCat("cannot add the video stream to ", output));

  if (!(out.ctx->oformat->flags & AVFMT_NOFILE)) {
    r = avio_open(&out.ctx->pb, output.c_str(), AVIO_FLAG_WRITE);
    if (r < 0) return absl::UnavailableError(absl::StrCat("cannot write ", output, ": ", AvError(r)));
  }
  r = avformat_write_header(out.ctx, nullptr);
  if (r < 0) return absl::InternalError(absl::StrCat("cannot write ", output, ": ", AvError(r)));
  AVPacket* pkt = av_packet_alloc();
  for (Input* in : {&vin, &ain}) {
    const std::vector<int>& map = in == &vin ? vmap : amap;
    while (r >= 0 && av_read_frame(in->ctx, pkt) >= 0) {
      const int to = map[pkt->stream_index];
      if (to >= 0) {
        av_packet_rescale_ts(pkt, in->ctx->streams[pkt->stream_index]->time_base, out.ctx->streams[to]->time_base);
        pkt->stream_index = to;
        pkt->pos = -1;
        r = av_interleaved_write_frame(out.ctx, pkt);
      }
      av_packet_unref(pkt);
    }
  }
  av_packet_free(&pkt);
  if (r < 0) return absl::InternalError(absl::StrCat("writing ", output, ": ", AvError(r)));
  r = av_write_trailer(out.ctx);
  if (r < 0) return absl::InternalError(absl::StrCat("writing ", output, ": ", AvError(r)));
  return absl::OkStatus();
}

}  // namespace seedvr::data
