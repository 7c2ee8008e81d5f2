// Internal: RAII owners for FFmpeg objects and the shared frame → RGB8 conversion.
#pragma once

#include <memory>
#include <span>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include "glmv/media/image.h"

namespace glmv::media::detail {

struct AvFrameFree {
    void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct AvPacketFree {
    void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct AvCodecContextFree {
    void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct SwsFree {
    void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using FramePtr    = std::unique_ptr<AVFrame, AvFrameFree>;
using PacketPtr   = std::unique_ptr<AVPacket, AvPacketFree>;
using CodecCtxPtr = std::unique_ptr<AVCodecContext, AvCodecContextFree>;
using SwsPtr      = std::unique_ptr<SwsContext, SwsFree>;

// av_strerror as a std::string.
std::string av_error_text(int err);

// Converts a decoded frame to RGB8 at out_w × out_h (its own size when 0), with swscale's area filter when
// shrinking and bicubic otherwise; full-range/limited-range YUV handled by swscale from the frame's colour fields.
// `cache` is reused between calls with the same geometry.
Result<Image> frame_to_rgb(const AVFrame* frame, int out_w, int out_h, SwsPtr& cache);

// Decodes a single-picture codec (BMP, …) from one packet holding the whole file.
Result<Image> ffmpeg_decode_still(AVCodecID codec, std::span<const uint8_t> bytes, int64_t max_pixels);

} // namespace glmv::media::detail
