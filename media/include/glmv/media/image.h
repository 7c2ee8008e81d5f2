// Still-image decoding: PNG, JPEG, WebP, BMP, GIF (first frame), TIFF → a plain RGB8 buffer.
//
//   glmv::media::ImageDecodeParams params;              // caps from limits.h; EXIF orientation on
//   auto img = glmv::media::load_image("photo.jpg", params);
//   if (!img) show(img.status().message());              // "photo.jpg: image is 30000x30000 = 900000000 pixels; ..."
//   use(img->rgb.data(), img->width, img->height);       // [height][width][3] uint8
//
// The format is sniffed from the bytes, never from the file name (a PNG named .jpg decodes; a text file named .png
// is rejected). Colour conversion follows PIL's Image.convert("RGB"): grey is replicated, alpha is dropped (not
// composited), palettes are expanded, 16-bit samples keep their high byte. JPEG EXIF orientation (tags 1–8) is
// applied like PIL's ImageOps.exif_transpose. Declared dimensions are checked against the caps *before* any pixel
// buffer is allocated, so a 30000×30000 header in a 100-byte file costs nothing.
//
// Decoders: libpng, libjpeg-turbo, libwebp (+demux for animated WebP), giflib, libtiff — the libraries PIL itself
// uses, so decoded pixels match the reference bit for bit on lossless formats and closely on JPEG; BMP goes through
// FFmpeg's decoder. See docs in media/src/image_*.cpp.
//
// Threading: all functions are reentrant; decode different images from different threads freely.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "glmv/common/status.h"
#include "glmv/media/limits.h"

namespace glmv::media {

// A decoded picture: rgb.size() == width·height·3, rows top to bottom, RGBRGB…
struct Image {
    int                  width  = 0;
    int                  height = 0;
    std::vector<uint8_t> rgb;
};

enum class ImageFormat { unknown, png, jpeg, webp, bmp, gif, tiff };

// "png", "jpeg", …, "unknown".
const char* image_format_name(ImageFormat f);
// Identifies the format from the leading bytes (magic numbers).
ImageFormat sniff_image_format(std::span<const uint8_t> bytes);

struct ImageDecodeParams {
    int64_t max_pixels       = limits::image_max_pixels;  // width·height cap, checked before allocation
    int     max_side_px      = limits::image_max_side_px; // cap on each side
    bool    apply_exif_orientation = true;                // JPEG/TIFF/WebP orientation tag honoured
};

// What the header says, without decoding pixels (orientation already applied to width/height).
struct ImageInfo {
    ImageFormat format      = ImageFormat::unknown;
    int         width       = 0;
    int         height      = 0;
    int         orientation = 1; // EXIF orientation 1–8 (1 = as stored)
};

// Decodes an image held in memory. Errors: bad_format (not an image, truncated, corrupt), unsupported (a format we
// do not decode, e.g. HEIC), out_of_range (declared size above the caps).
Result<Image> decode_image(std::span<const uint8_t> bytes, const ImageDecodeParams& params = {});
// Reads the file (≤ limits::image_max_file_bytes) and decodes it; messages are prefixed with the path.
Result<Image> load_image(const std::string& path, const ImageDecodeParams& params = {});
// Parses only the header: format, declared size, orientation.
Result<ImageInfo> probe_image(std::span<const uint8_t> bytes);

// Applies EXIF orientation `o` (1–8) to `img` in place (exposed for tests and for the video rotation path).
void apply_orientation(Image& img, int orientation);

// Reads a whole file into memory, refusing files larger than max_bytes (shared by the loaders).
Result<std::vector<uint8_t>> read_file_bytes(const std::string& path, uint64_t max_bytes);

// Encodes RGB8 as PNG (for sending rendered pages to a remote server).
Result<std::vector<uint8_t>> encode_png(const Image& img);

} // namespace glmv::media
