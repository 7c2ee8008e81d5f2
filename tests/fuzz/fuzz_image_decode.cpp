// libFuzzer target: still-image decoding (reliability.md §10.2). Property beyond "no crash": a success is a
// consistent RGB8 buffer within the pixel cap.
#include <cstdint>
#include <cstdlib>

#include "glmv/media/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > (4u << 20)) return 0;
    glmv::media::ImageDecodeParams params;
    // A smaller cap than the app's keeps each input fast; the caps' logic is the same.
    params.max_pixels = 4'000'000;
    auto img          = glmv::media::decode_image({data, size}, params);
    if (img) {
        if (img->width <= 0 || img->height <= 0 || int64_t(img->width) * img->height > params.max_pixels ||
            img->rgb.size() != size_t(img->width) * img->height * 3)
            std::abort();
    } else if (img.status().message().empty()) {
        std::abort(); // every failure must say something
    }
    auto info = glmv::media::probe_image({data, size});
    (void)info;
    return 0;
}
