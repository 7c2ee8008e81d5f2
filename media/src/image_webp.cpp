// WebP via libwebp (PIL's decoder). Still images decode straight to RGB; animated files give their first frame
// through the demux/anim API (composited canvas, alpha dropped).
#include <webp/decode.h>
#include <webp/demux.h>

#include "image_decoders.h"

namespace glmv::media::detail {

Result<ImageInfo> probe_webp(std::span<const uint8_t> bytes) {
    WebPBitstreamFeatures f;
    if (WebPGetFeatures(bytes.data(), bytes.size(), &f) != VP8_STATUS_OK)
        return make_error(ErrorCode::bad_format, "webp: not a valid WebP header");
    return ImageInfo{ImageFormat::webp, f.width, f.height, 1};
}

Result<Image> decode_webp(std::span<const uint8_t> bytes, const ImageDecodeParams& params) {
    WebPBitstreamFeatures f;
    VP8StatusCode         rc = WebPGetFeatures(bytes.data(), bytes.size(), &f);
    if (rc == VP8_STATUS_NOT_ENOUGH_DATA) return make_error(ErrorCode::bad_format, "webp: file is truncated");
    if (rc != VP8_STATUS_OK) return make_error(ErrorCode::bad_format, "webp: not a valid WebP header");
    GLMV_RETURN_IF_ERROR(check_declared_size(f.width, f.height, params, "webp"));
    Image img;
    img.width  = f.width;
    img.height = f.height;
    if (!f.has_animation) {
        img.rgb.resize(size_t(f.width) * f.height * 3);
        if (!WebPDecodeRGBInto(bytes.data(), bytes.size(), img.rgb.data(), img.rgb.size(), f.width * 3))
            return make_error(ErrorCode::bad_format, "webp: corrupt or truncated image data");
        return img;
    }
    WebPData            data{bytes.data(), bytes.size()};
    WebPAnimDecoderOptions opts;
    if (!WebPAnimDecoderOptionsInit(&opts)) return make_error(ErrorCode::internal, "webp: library version mismatch");
    opts.color_mode  = MODE_RGBA;
    opts.use_threads = 0;
    WebPAnimDecoder* dec = WebPAnimDecoderNew(&data, &opts);
    if (!dec) return make_error(ErrorCode::bad_format, "webp: corrupt animation");
    WebPAnimInfo info;
    uint8_t*     rgba = nullptr;
    int          ts   = 0;
    Status       st;
    if (!WebPAnimDecoderGetInfo(dec, &info) || int(info.canvas_width) != f.width ||
        int(info.canvas_height) != f.height)
        st = make_error(ErrorCode::bad_format, "webp: inconsistent animation canvas");
    else if (!WebPAnimDecoderGetNext(dec, &rgba, &ts) || !rgba)
        st = make_error(ErrorCode::bad_format, "webp: cannot decode the first animation frame");
    if (st.ok()) {
        img.rgb.resize(size_t(f.width) * f.height * 3);
        const size_t n = size_t(f.width) * f.height;
        for (size_t i = 0; i < n; ++i)
            img.rgb[i * 3] = rgba[i * 4], img.rgb[i * 3 + 1] = rgba[i * 4 + 1], img.rgb[i * 3 + 2] = rgba[i * 4 + 2];
    }
    WebPAnimDecoderDelete(dec);
    if (!st.ok()) return st;
    return img;
}

} // namespace glmv::media::detail
