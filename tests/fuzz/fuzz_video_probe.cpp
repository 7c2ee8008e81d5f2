// libFuzzer target: container bytes through a memory AVIOContext (as FFmpeg's target_dem_fuzzer): probe, sample,
// and decode the first few sampled frames. Properties: ≤ 600 sampled frames, ascending indices, monotone timestamps,
// consistent frame buffers.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "glmv/media/video.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > (4u << 20)) return 0;
    std::span<const uint8_t> bytes(data, size);
    auto                     info = glmv::media::probe_video(bytes);
    if (!info) return 0;
    auto idx = glmv::media::sample_frame_indices(info->n_frames, info->fps, info->duration_s);
    if (idx.size() > size_t(glmv::media::limits::video_max_sampled_frames) || !std::is_sorted(idx.begin(), idx.end()))
        std::abort();
    // Decoding every sampled frame of a fuzzed file would be slow; the first four exercise seek and decode.
    idx.resize(std::min<size_t>(idx.size(), 4));
    glmv::media::VideoDecodeParams p;
    p.n_threads        = 1;
    p.max_frame_pixels = 256 * 256;
    auto frames        = glmv::media::decode_video_frames(bytes, idx, p);
    if (!frames) return 0;
    double last = -1;
    for (auto& f : *frames) {
        if (f.timestamp_s < last || f.image.rgb.size() != size_t(f.image.width) * f.image.height * 3 ||
            int64_t(f.image.width) * f.image.height > 256 * 256 + 1)
            std::abort();
        last = f.timestamp_s;
    }
    return 0;
}
