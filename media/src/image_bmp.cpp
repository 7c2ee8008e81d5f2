// BMP via FFmpeg's bmp decoder (PIL decodes BMP itself; the formats have no lossy step, so results agree).
// The header's size is checked first; the decoder then gets max_pixels as a second line of defence.
#include <cstdint>
#include <cstring>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include "ffmpeg_util.h"
#include "image_decoders.h"

namespace glmv::media::detail {

namespace {

// BITMAPFILEHEADER (14 bytes), then the DIB header whose first field is its own size.
Status bmp_size(std::span<const uint8_t> bytes, int64_t* width, int64_t* height) {
    if (bytes.size() < 26) return make_error(ErrorCode::bad_format, "bmp: file is truncated");
    auto     le32  = [&](size_t at) { return uint32_t(bytes[at]) | bytes[at + 1] << 8 | bytes[at + 2] << 16 | uint32_t(bytes[at + 3]) << 24; };
    uint32_t dib   = le32(14);
    int64_t  w = 0, h = 0;
    if (dib == 12) { // OS/2 BITMAPCOREHEADER: 16-bit sizes
        w = bytes[18] | bytes[19] << 8;
        h = bytes[20] | bytes[21] << 8;
    } else if (dib >= 40 && bytes.size() >= 26) {
        w = int32_t(le32(18));
        h = int32_t(le32(22));
        if (h < 0) h = -h; // negative height = top-down rows
    } else {
        return make_error(ErrorCode::bad_format, "bmp: unknown header version");
    }
    *width  = w;
    *height = h;
    return {};
}

} // namespace

Result<ImageInfo> probe_bmp(std::span<const uint8_t> bytes) {
    int64_t w = 0, h = 0;
    GLMV_RETURN_IF_ERROR(bmp_size(bytes, &w, &h));
    if (w <= 0 || h <= 0 || w > INT32_MAX || h > INT32_MAX)
        return make_error(ErrorCode::bad_format, "bmp: header declares an empty image");
    return ImageInfo{ImageFormat::bmp, int(w), int(h), 1};
}

Result<Image> decode_bmp(std::span<const uint8_t> bytes, const ImageDecodeParams& params) {
    int64_t w = 0, h = 0;
    GLMV_RETURN_IF_ERROR(bmp_size(bytes, &w, &h));
    GLMV_RETURN_IF_ERROR(check_declared_size(w, h, params, "bmp"));
    auto frame = ffmpeg_decode_still(AV_CODEC_ID_BMP, bytes, params.max_pixels);
    if (!frame) return frame.status().with_context("bmp");
    return frame;
}

} // namespace glmv::media::detail
