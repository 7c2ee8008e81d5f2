// Internal: one decoder per format, all with the same contract. Each checks the declared size with
// check_declared_size() before allocating the output, and never throws or aborts on file contents.
#pragma once

#include <span>

#include "glmv/media/image.h"

namespace glmv::media::detail {

// Fails when w×h exceeds the caps in `params`; the message names both and says what to do.
Status check_declared_size(int64_t width, int64_t height, const ImageDecodeParams& params, const char* format);

Result<Image> decode_png(std::span<const uint8_t> bytes, const ImageDecodeParams& params);
Result<Image> decode_jpeg(std::span<const uint8_t> bytes, const ImageDecodeParams& params);
Result<Image> decode_webp(std::span<const uint8_t> bytes, const ImageDecodeParams& params);
Result<Image> decode_gif(std::span<const uint8_t> bytes, const ImageDecodeParams& params);
Result<Image> decode_tiff(std::span<const uint8_t> bytes, const ImageDecodeParams& params);
Result<Image> decode_bmp(std::span<const uint8_t> bytes, const ImageDecodeParams& params);

// Header-only parsers used by probe_image (w/h as stored; orientation separately).
Result<ImageInfo> probe_png(std::span<const uint8_t> bytes);
Result<ImageInfo> probe_jpeg(std::span<const uint8_t> bytes);
Result<ImageInfo> probe_webp(std::span<const uint8_t> bytes);
Result<ImageInfo> probe_gif(std::span<const uint8_t> bytes);
Result<ImageInfo> probe_tiff(std::span<const uint8_t> bytes);
Result<ImageInfo> probe_bmp(std::span<const uint8_t> bytes);

// EXIF orientation (tag 0x0112 of IFD0) from an APP1 payload starting with "Exif\0\0"; 1 when absent or malformed.
int exif_orientation(std::span<const uint8_t> app1);

} // namespace glmv::media::detail
