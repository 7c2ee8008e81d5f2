// Format sniffing and dispatch for still images; file reading with a size cap.
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

#include "image_decoders.h"

namespace glmv::media {

const char* image_format_name(ImageFormat f) {
    switch (f) {
    case ImageFormat::png: return "png";
    case ImageFormat::jpeg: return "jpeg";
    case ImageFormat::webp: return "webp";
    case ImageFormat::bmp: return "bmp";
    case ImageFormat::gif: return "gif";
    case ImageFormat::tiff: return "tiff";
    case ImageFormat::unknown: break;
    }
    return "unknown";
}

static bool starts_with(std::span<const uint8_t> b, size_t at, const char* magic, size_t n) {
    return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
}

ImageFormat sniff_image_format(std::span<const uint8_t> b) {
    if (starts_with(b, 0, "\x89PNG\r\n\x1a\n", 8)) return ImageFormat::png;
    if (starts_with(b, 0, "\xff\xd8\xff", 3)) return ImageFormat::jpeg;
    if (starts_with(b, 0, "RIFF", 4) && starts_with(b, 8, "WEBP", 4)) return ImageFormat::webp;
    if (starts_with(b, 0, "GIF87a", 6) || starts_with(b, 0, "GIF89a", 6)) return ImageFormat::gif;
    if (starts_with(b, 0, "II*\0", 4) || starts_with(b, 0, "MM\0*", 4)) return ImageFormat::tiff;
    if (starts_with(b, 0, "BM", 2) && b.size() >= 26) return ImageFormat::bmp;
    return ImageFormat::unknown;
}

// Says what a non-image file is, so the message can point the user at the right place.
static Status not_an_image(std::span<const uint8_t> b) {
    if (b.empty()) return make_error(ErrorCode::bad_format, "the file is empty");
    if (starts_with(b, 4, "ftyp", 4)) {
        if (starts_with(b, 8, "heic", 4) || starts_with(b, 8, "heix", 4) || starts_with(b, 8, "mif1", 4) ||
            starts_with(b, 8, "avif", 4) || starts_with(b, 8, "avis", 4) || starts_with(b, 8, "hevc", 4))
            return make_error(ErrorCode::unsupported,
                              "HEIC/AVIF images are not supported; convert the picture to JPEG or PNG");
        return make_error(ErrorCode::bad_format, "this is a video (MP4/MOV) file, not an image; attach it as a video");
    }
    if (starts_with(b, 0, "%PDF", 4))
        return make_error(ErrorCode::bad_format, "this is a PDF file, not an image; attach it as a document");
    if (starts_with(b, 0, "\x1a\x45\xdf\xa3", 4))
        return make_error(ErrorCode::bad_format, "this is a video (Matroska/WebM) file, not an image");
    return make_error(ErrorCode::bad_format,
                      "not a recognised image (PNG, JPEG, WebP, BMP, GIF or TIFF expected; the file name's extension "
                      "is not trusted)");
}

namespace detail {

Status check_declared_size(int64_t width, int64_t height, const ImageDecodeParams& params, const char* format) {
    if (width <= 0 || height <= 0)
        return make_error(ErrorCode::bad_format, std::string(format) + " header declares an empty image (" +
                                                     std::to_string(width) + "x" + std::to_string(height) + ")");
    // Sides first: a header may declare sizes whose product overflows 64 bits.
    if (width > params.max_side_px || height > params.max_side_px || width * height > params.max_pixels)
        return make_error(ErrorCode::out_of_range,
                          std::string(format) + " image is " + std::to_string(width) + "x" + std::to_string(height) +
                              " = " + std::to_string(uint64_t(double(width) * double(height))) +
                              " pixels, above the limit of " +
                              std::to_string(params.max_pixels) + " pixels (" + std::to_string(params.max_side_px) +
                              " per side); downscale it before attaching");
    return {};
}

} // namespace detail

Result<Image> decode_image(std::span<const uint8_t> bytes, const ImageDecodeParams& params) {
    if (bytes.size() > limits::image_max_file_bytes)
        return make_error(ErrorCode::out_of_range, "image file is larger than 256 MiB");
    Result<Image> r = make_error(ErrorCode::internal, "unreachable");
    switch (sniff_image_format(bytes)) {
    case ImageFormat::png: r = detail::decode_png(bytes, params); break;
    case ImageFormat::jpeg: r = detail::decode_jpeg(bytes, params); break;
    case ImageFormat::webp: r = detail::decode_webp(bytes, params); break;
    case ImageFormat::gif: r = detail::decode_gif(bytes, params); break;
    case ImageFormat::tiff: r = detail::decode_tiff(bytes, params); break;
    case ImageFormat::bmp: r = detail::decode_bmp(bytes, params); break;
    case ImageFormat::unknown: return not_an_image(bytes);
    }
    // Post-condition every caller relies on (and the fuzzer checks): a consistent, capped buffer.
    if (r && (r->width <= 0 || r->height <= 0 || int64_t(r->width) * r->height > params.max_pixels ||
              r->rgb.size() != size_t(r->width) * size_t(r->height) * 3))
        return make_error(ErrorCode::internal, "decoder produced an inconsistent image");
    return r;
}

Result<ImageInfo> probe_image(std::span<const uint8_t> bytes) {
    ImageFormat f = sniff_image_format(bytes);
    switch (f) {
    case ImageFormat::png: return detail::probe_png(bytes);
    case ImageFormat::jpeg: return detail::probe_jpeg(bytes);
    case ImageFormat::webp: return detail::probe_webp(bytes);
    case ImageFormat::gif: return detail::probe_gif(bytes);
    case ImageFormat::tiff: return detail::probe_tiff(bytes);
    case ImageFormat::bmp: return detail::probe_bmp(bytes);
    case ImageFormat::unknown: break;
    }
    return not_an_image(bytes);
}

Result<std::vector<uint8_t>> read_file_bytes(const std::string& path, uint64_t max_bytes) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return make_error(ErrorCode::not_found, path + ": cannot open (" + std::strerror(errno) + ")");
    struct stat st {};
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        std::fclose(f);
        return make_error(ErrorCode::io_error, path + ": not a regular file");
    }
    if (uint64_t(st.st_size) > max_bytes) {
        std::fclose(f);
        return make_error(ErrorCode::out_of_range, path + ": file is " + std::to_string(st.st_size) +
                                                       " bytes, above the limit of " + std::to_string(max_bytes));
    }
    std::vector<uint8_t> bytes(size_t(st.st_size));
    size_t               got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    if (got != bytes.size()) return make_error(ErrorCode::io_error, path + ": short read");
    return bytes;
}

Result<Image> load_image(const std::string& path, const ImageDecodeParams& params) {
    auto bytes = read_file_bytes(path, limits::image_max_file_bytes);
    if (!bytes) return bytes.status();
    auto img = decode_image(*bytes, params);
    if (!img) return img.status().with_context(path);
    return img;
}

} // namespace glmv::media
