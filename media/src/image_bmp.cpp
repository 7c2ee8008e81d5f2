// BMP via FFmpeg's bmp decoder (PIL decodes BMP itself; the formats have no lossy step, so results agree).
// The header's size is checked first; the decoder then gets max_pixels as a second line of defence.
#include <cstring>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include "ffmpeg_util.h"
#include "image_decoders.h"

namespace glmv::media::detail {

Result<Image> decode_bmp(std::span<const uint8_t> bytes, const ImageDecodeParams& params) {
    // BITMAPFILEHEADER (14 bytes), then the DIB header whose first field is its own size.
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
    GLMV_RETURN_IF_ERROR(check_declared_size(w, h, params, "bmp"));
    auto frame = ffmpeg_decode_still(AV_CODEC_ID_BMP, bytes, params.max_pixels);
    if (!frame) return frame.status().with_context("bmp");
    return frame;
}

} // namespace glmv::media::detail
