// PNG encoding (libpng), for sending rendered PDF pages to a remote OpenAI-compatible server as data: URLs.
#include <png.h>

#include <csetjmp>

#include "glmv/media/image.h"

namespace glmv::media {

namespace {
void png_write_mem(png_structp png, png_bytep data, png_size_t n) {
    auto* out = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(png));
    out->insert(out->end(), data, data + n);
}
void png_flush_noop(png_structp) {}
} // namespace

Result<std::vector<uint8_t>> encode_png(const Image& img) {
    if (img.width <= 0 || img.height <= 0 || img.rgb.size() != size_t(img.width) * size_t(img.height) * 3)
        return Status(ErrorCode::invalid_argument, "encode_png: image buffer does not match its size");
    std::vector<uint8_t> out;
    png_structp          png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop            info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        return Status(ErrorCode::out_of_memory, "encode_png: libpng could not start");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return Status(ErrorCode::internal, "encode_png: libpng failed");
    }
    png_set_write_fn(png, &out, png_write_mem, png_flush_noop);
    png_set_IHDR(png, info, png_uint_32(img.width), png_uint_32(img.height), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 3); // fast: the page goes over a local network, not to disk
    png_write_info(png, info);
    for (int y = 0; y < img.height; ++y)
        png_write_row(png, const_cast<png_bytep>(img.rgb.data() + size_t(y) * size_t(img.width) * 3));
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return out;
}

} // namespace glmv::media
