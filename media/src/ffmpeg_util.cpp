// FFmpeg helpers shared by the BMP decoder and the video sampler.
#include <cstring>

extern "C" {
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
}

#include "ffmpeg_util.h"

namespace glmv::media::detail {

std::string av_error_text(int err) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(err, buf, sizeof(buf));
    return buf;
}

Result<Image> frame_to_rgb(const AVFrame* frame, int out_w, int out_h, SwsPtr& cache) {
    if (!frame || frame->width <= 0 || frame->height <= 0 || frame->format < 0)
        return make_error(ErrorCode::bad_format, "decoder returned an empty frame");
    if (out_w <= 0 || out_h <= 0) out_w = frame->width, out_h = frame->height;
    const bool shrink = int64_t(out_w) * out_h < int64_t(frame->width) * frame->height;
    // SWS_ACCURATE_RND + FULL_CHR_H_INT: exact 8-bit round trips for RGB sources, best chroma for YUV ones.
    // When shrinking (early video downscale), chroma detail is averaged away anyway: the plain area filter is
    // several times cheaper than the accurate full-chroma path.
    const int flags = shrink ? SWS_AREA : SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP;
    SwsContext* sws = sws_getCachedContext(cache.release(), frame->width, frame->height, AVPixelFormat(frame->format),
                                           out_w, out_h, AV_PIX_FMT_RGB24, flags, nullptr, nullptr, nullptr);
    cache.reset(sws);
    if (!sws)
        return make_error(ErrorCode::unsupported, std::string("cannot convert pixel format ") +
                                                      (av_get_pix_fmt_name(AVPixelFormat(frame->format))
                                                           ? av_get_pix_fmt_name(AVPixelFormat(frame->format))
                                                           : "?") +
                                                      " to RGB");
    Image img;
    img.width  = out_w;
    img.height = out_h;
    img.rgb.resize(size_t(out_w) * out_h * 3);
    uint8_t* dst[4]        = {img.rgb.data(), nullptr, nullptr, nullptr};
    int      dst_stride[4] = {out_w * 3, 0, 0, 0};
    int      rows = sws_scale(sws, frame->data, frame->linesize, 0, frame->height, dst, dst_stride);
    if (rows != out_h) return make_error(ErrorCode::internal, "pixel conversion failed");
    return img;
}

Result<Image> ffmpeg_decode_still(AVCodecID codec_id, std::span<const uint8_t> bytes, int64_t max_pixels) {
    const AVCodec* codec = avcodec_find_decoder(codec_id);
    if (!codec) return make_error(ErrorCode::unsupported, "this FFmpeg build has no decoder for the format");
    CodecCtxPtr ctx(avcodec_alloc_context3(codec));
    PacketPtr   pkt(av_packet_alloc());
    FramePtr    frame(av_frame_alloc());
    if (!ctx || !pkt || !frame) return make_error(ErrorCode::out_of_memory, "cannot allocate a decoder");
    ctx->max_pixels = max_pixels;
    ctx->thread_count = 1;
    if (int err = avcodec_open2(ctx.get(), codec, nullptr); err < 0)
        return make_error(ErrorCode::internal, "cannot open decoder: " + av_error_text(err));
    // The packet needs AV_INPUT_BUFFER_PADDING_SIZE zeroed bytes after the data.
    if (bytes.size() > size_t(INT32_MAX - AV_INPUT_BUFFER_PADDING_SIZE))
        return make_error(ErrorCode::out_of_range, "file too large");
    if (av_new_packet(pkt.get(), int(bytes.size())) < 0) return make_error(ErrorCode::out_of_memory, "out of memory");
    std::memcpy(pkt->data, bytes.data(), bytes.size());
    int err = avcodec_send_packet(ctx.get(), pkt.get());
    if (err >= 0) avcodec_send_packet(ctx.get(), nullptr);
    if (err >= 0) err = avcodec_receive_frame(ctx.get(), frame.get());
    if (err < 0) return make_error(ErrorCode::bad_format, "corrupt or truncated image data (" + av_error_text(err) + ")");
    SwsPtr sws;
    return frame_to_rgb(frame.get(), 0, 0, sws);
}

} // namespace glmv::media::detail
