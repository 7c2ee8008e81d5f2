// TIFF via libtiff (PIL's decoder), read from memory through TIFFClientOpenExt with per-handle error handlers and a
// single-allocation cap. The first directory (page) is decoded with the RGBA interface, which converts every
// photometric (palette, CMYK, YCbCr, gray, 16-bit) and applies orientations 1–4; alpha is dropped afterwards.
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include <tiffio.h>

#include "image_decoders.h"

namespace glmv::media::detail {

namespace {

struct TiffSource {
    std::span<const uint8_t> bytes;
    uint64_t                 pos = 0;
    char                     error[256] = {0};
};

tmsize_t tiff_read(thandle_t h, void* buf, tmsize_t n) {
    auto*    s    = static_cast<TiffSource*>(h);
    uint64_t left = s->pos < s->bytes.size() ? s->bytes.size() - s->pos : 0;
    uint64_t take = std::min<uint64_t>(left, n < 0 ? 0 : uint64_t(n));
    if (take) std::memcpy(buf, s->bytes.data() + s->pos, size_t(take));
    s->pos += take;
    return tmsize_t(take);
}
tmsize_t tiff_write(thandle_t, void*, tmsize_t) { return 0; }
toff_t   tiff_seek(thandle_t h, toff_t off, int whence) {
    auto*    s    = static_cast<TiffSource*>(h);
    uint64_t base = whence == SEEK_CUR ? s->pos : whence == SEEK_END ? s->bytes.size() : 0;
    // Seeking past the end is allowed (reads there return 0 bytes); wrap-around is not.
    if (off > UINT64_MAX - base) return toff_t(-1);
    s->pos = base + off;
    return s->pos;
}
int    tiff_close(thandle_t) { return 0; }
toff_t tiff_size(thandle_t h) { return static_cast<TiffSource*>(h)->bytes.size(); }
int    tiff_map(thandle_t, void**, toff_t*) { return 0; }
void   tiff_unmap(thandle_t, void*, toff_t) {}

int tiff_on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
    auto* s = static_cast<TiffSource*>(user);
    if (s->error[0] == 0) {
        int n = std::snprintf(s->error, sizeof(s->error), "%s: ", module ? module : "tiff");
        if (n > 0 && size_t(n) < sizeof(s->error)) std::vsnprintf(s->error + n, sizeof(s->error) - n, fmt, ap);
    }
    return 1; // handled: libtiff does not call the global handler
}
int tiff_on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

// Opens the first directory; errors land in src.error.
TIFF* tiff_open(TiffSource& src) {
    TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
    if (!opts) return nullptr;
    TIFFOpenOptionsSetErrorHandlerExtR(opts, tiff_on_error, &src);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, tiff_on_warning, &src);
    TIFFOpenOptionsSetMaxSingleMemAlloc(opts, tmsize_t(limits::image_max_decoder_bytes));
    // "m": never memory-map (we serve the bytes ourselves).
    TIFF* tif = TIFFClientOpenExt("memory", "rm", &src, tiff_read, tiff_write, tiff_seek, tiff_close, tiff_size,
                                  tiff_map, tiff_unmap, opts);
    TIFFOpenOptionsFree(opts);
    return tif;
}

} // namespace

Result<ImageInfo> probe_tiff(std::span<const uint8_t> bytes) {
    TiffSource src{bytes, 0};
    TIFF*      tif = tiff_open(src);
    if (!tif)
        return make_error(ErrorCode::bad_format,
                          std::string("tiff: ") + (src.error[0] ? src.error : "not a readable TIFF file"));
    uint32_t w = 0, h = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFClose(tif);
    if (w == 0 || h == 0 || w > INT32_MAX || h > INT32_MAX)
        return make_error(ErrorCode::bad_format, "tiff: header declares an empty image");
    return ImageInfo{ImageFormat::tiff, int(w), int(h), 1};
}

Result<Image> decode_tiff(std::span<const uint8_t> bytes, const ImageDecodeParams& params) {
    TiffSource src{bytes, 0};
    TIFF*      tif = tiff_open(src);
    if (!tif)
        return make_error(ErrorCode::bad_format,
                          std::string("tiff: ") + (src.error[0] ? src.error : "not a readable TIFF file"));
    uint32_t w = 0, h = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    Status st = check_declared_size(w, h, params, "tiff");
    Image  img;
    if (st.ok()) {
        std::vector<uint32_t> raster(size_t(w) * h); // ABGR packed, as TIFFReadRGBAImage writes
        char                  emsg[1024] = {0};
        if (!TIFFRGBAImageOK(tif, emsg)) {
            st = make_error(ErrorCode::unsupported, std::string("tiff: ") + emsg);
        } else if (!TIFFReadRGBAImageOriented(tif, w, h, raster.data(), ORIENTATION_TOPLEFT, 1)) {
            st = make_error(ErrorCode::bad_format,
                            std::string("tiff: ") + (src.error[0] ? src.error : "corrupt or truncated image data"));
        } else {
            img.width  = int(w);
            img.height = int(h);
            img.rgb.resize(size_t(w) * h * 3);
            for (size_t i = 0; i < raster.size(); ++i) {
                img.rgb[i * 3 + 0] = uint8_t(TIFFGetR(raster[i]));
                img.rgb[i * 3 + 1] = uint8_t(TIFFGetG(raster[i]));
                img.rgb[i * 3 + 2] = uint8_t(TIFFGetB(raster[i]));
            }
        }
    }
    TIFFClose(tif);
    if (!st.ok()) return st;
    return img;
}

} // namespace glmv::media::detail
