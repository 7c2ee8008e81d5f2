// PNG via libpng (the library PIL uses). libpng reports errors by longjmp; everything that must survive the jump
// lives in PngState (heap, address-stable), and no C++ object with a destructor is created between setjmp and the
// last libpng call.
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>

#include <png.h>

#include "image_decoders.h"

namespace glmv::media::detail {

namespace {

struct PngState {
    std::span<const uint8_t> bytes;
    size_t                   pos = 0;
    char                     error[256] = {0};
};

void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
    auto* st = static_cast<PngState*>(png_get_io_ptr(png));
    if (n > st->bytes.size() - st->pos) png_error(png, "file is truncated");
    std::memcpy(out, st->bytes.data() + st->pos, n);
    st->pos += n;
}

void png_on_error(png_structp png, png_const_charp msg) {
    auto* st = static_cast<PngState*>(png_get_error_ptr(png));
    std::snprintf(st->error, sizeof(st->error), "%s", msg ? msg : "error");
    png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {} // benign (bad sRGB profiles etc.)

struct PngHandles {
    png_structp png  = nullptr;
    png_infop   info = nullptr;
    ~PngHandles() { png_destroy_read_struct(&png, &info, nullptr); }
};

// Reads up to and including IHDR; limits are installed so libpng itself refuses giant images and chunks.
bool png_open(PngHandles& h, PngState& st) {
    h.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, png_on_error, png_on_warning);
    if (!h.png) return false;
    h.info = png_create_info_struct(h.png);
    if (!h.info) return false;
    png_set_read_fn(h.png, &st, png_read_mem);
    png_set_user_limits(h.png, limits::image_max_side_px, limits::image_max_side_px);
    png_set_chunk_malloc_max(h.png, limits::image_max_metadata_bytes);
    png_set_chunk_cache_max(h.png, 1000);
    return true;
}

} // namespace

Result<ImageInfo> probe_png(std::span<const uint8_t> bytes) {
    PngState   st;
    PngHandles h;
    st.bytes = bytes;
    if (!png_open(h, st)) return make_error(ErrorCode::out_of_memory, "png: cannot create decoder");
    png_uint_32 w = 0, hgt = 0;
    if (setjmp(png_jmpbuf(h.png))) return make_error(ErrorCode::bad_format, std::string("png: ") + st.error);
    png_read_info(h.png, h.info);
    w   = png_get_image_width(h.png, h.info);
    hgt = png_get_image_height(h.png, h.info);
    return ImageInfo{ImageFormat::png, int(w), int(hgt), 1};
}

Result<Image> decode_png(std::span<const uint8_t> bytes, const ImageDecodeParams& params) {
    // IHDR sits at a fixed place: check the declared size before libpng allocates anything.
    if (bytes.size() < 33 || std::memcmp(bytes.data() + 12, "IHDR", 4) != 0)
        return make_error(ErrorCode::bad_format, "png: file is truncated or has no IHDR chunk");
    const uint8_t* d  = bytes.data() + 16;
    int64_t        dw = int64_t(d[0]) << 24 | d[1] << 16 | d[2] << 8 | d[3];
    int64_t        dh = int64_t(d[4]) << 24 | d[5] << 16 | d[6] << 8 | d[7];
    GLMV_RETURN_IF_ERROR(check_declared_size(dw, dh, params, "png"));

    auto       st = std::make_unique<PngState>();
    PngHandles h;
    st->bytes = bytes;
    if (!png_open(h, *st)) return make_error(ErrorCode::out_of_memory, "png: cannot create decoder");
    Image                img;
    std::vector<uint8_t> rows; // whole image in libpng's output layout (needed for interlaced files)
    std::vector<png_bytep> ptrs; // declared before setjmp: a longjmp must not skip a destructor
    if (setjmp(png_jmpbuf(h.png))) return make_error(ErrorCode::bad_format, std::string("png: ") + st->error);
    png_read_info(h.png, h.info);
    int color = png_get_color_type(h.png, h.info);
    int depth = png_get_bit_depth(h.png, h.info);
    // Normalise to 8-bit gray/GA/RGB/RGBA; tRNS-as-alpha is dropped below like convert("RGB") drops alpha.
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(h.png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(h.png);
    if (depth == 16) png_set_strip_16(h.png); // keep the high byte, as PIL's 16-bit RGB unpackers do
    png_set_interlace_handling(h.png);
    png_read_update_info(h.png, h.info);
    const png_uint_32 w        = png_get_image_width(h.png, h.info);
    const png_uint_32 hgt      = png_get_image_height(h.png, h.info);
    const int         channels = png_get_channels(h.png, h.info);
    const size_t      rowbytes = png_get_rowbytes(h.png, h.info);
    if (int64_t(w) != dw || int64_t(hgt) != dh || channels < 1 || channels > 4 || rowbytes != size_t(w) * channels)
        png_error(h.png, "unexpected layout after transformations");
    rows.resize(rowbytes * hgt);
    img.width  = int(w);
    img.height = int(hgt);
    img.rgb.resize(size_t(w) * hgt * 3);
    ptrs.resize(hgt);
    for (png_uint_32 y = 0; y < hgt; ++y) ptrs[y] = rows.data() + size_t(y) * rowbytes;
    png_read_image(h.png, ptrs.data());
    // Trailing chunks after the image data are not read: like PIL, a file missing only IEND still decodes.
    // Gray → replicated; GA → gray; RGBA → RGB (alpha dropped, not composited).
    const size_t n = size_t(w) * hgt;
    for (size_t i = 0; i < n; ++i) {
        const uint8_t* s = &rows[i * channels];
        uint8_t*       o = &img.rgb[i * 3];
        if (channels <= 2) o[0] = o[1] = o[2] = s[0];
        else o[0] = s[0], o[1] = s[1], o[2] = s[2];
    }
    return img;
}

} // namespace glmv::media::detail
