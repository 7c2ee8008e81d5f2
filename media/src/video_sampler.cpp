// Glm4vVideoProcessor.sample_frames, reproduced operation for operation (spec §4) so indices match exactly,
// including the floating-point order of i·fps/fps_s and numpy's linspace.
#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "glmv/media/video.h"

namespace glmv::media {

namespace {
constexpr int64_t max_samples = int64_t(1) << 20;
}

std::vector<int64_t> sample_frame_indices(int64_t n_frames, double fps, double duration_s,
                                          const VideoSamplingParams& params) {
    std::vector<int64_t> idx;
    if (n_frames <= 0 || !(fps > 0) || !(params.fps > 0) || !(params.max_duration_s > 0)) return idx;
    const int64_t last = n_frames - 1;
    // Python: metadata.duration or round(max_frame_idx / fps) + 1 (a 0/None duration falls through).
    double duration = duration_s > 0 && std::isfinite(duration_s)
                          ? duration_s
                          : std::nearbyint(double(last) / fps) + 1.0;
    if (duration <= params.max_duration_s) {
        // Bounded by max_duration·fps_s; the clamp only guards absurd caller parameters.
        const int64_t n = std::clamp<int64_t>(int64_t(std::floor(duration * params.fps)), 1, max_samples);
        idx.reserve(size_t(n));
        for (int64_t i = 0; i < n; ++i)
            idx.push_back(std::min(last, int64_t(std::ceil(double(i) * fps / params.fps))));
    } else {
        const int64_t n = std::clamp<int64_t>(int64_t(params.max_duration_s * params.fps), 1, max_samples);
        if (n >= n_frames) {
            for (int64_t i = 0; i < n_frames; ++i) idx.push_back(i);
        } else {
            // numpy.linspace(0, duration, n, endpoint=True): i·step, the last value exactly `duration`.
            const double step = n > 1 ? duration / double(n - 1) : 0.0;
            for (int64_t i = 0; i < n; ++i) {
                const double t = (i == n - 1 && n > 1) ? duration : double(i) * step;
                idx.push_back(std::min(last, int64_t(std::ceil(t * fps))));
            }
        }
    }
    // Drop duplicates keeping the first occurrence, then pad to an even count with the last index.
    std::unordered_set<int64_t> seen;
    std::vector<int64_t>        uniq;
    for (int64_t i : idx)
        if (seen.insert(i).second) uniq.push_back(i);
    if (uniq.size() % 2) uniq.push_back(uniq.back());
    return uniq;
}

} // namespace glmv::media
