// HF smart_resize (spec §3.2): pick the multiple-of-28 size nearest the input within the pixel budget.
#include <cmath>

#include "glmv/inference/preprocess.h"

namespace glmv {

namespace {
// Largest side we ever produce: far above any real budget (9.6 MP at aspect 200 is 43,904 × 219), and small enough
// that h·w·3 bytes fits comfortably in int64 and in one allocation we are willing to make.
constexpr int64_t max_side_px = 1 << 16;
} // namespace

Result<ResizedSize> smart_resize(int64_t num_frames, int64_t height, int64_t width, int temporal_factor, int factor,
                                 int64_t min_pixels, int64_t max_pixels) {
    if (height <= 0 || width <= 0)
        return make_error(ErrorCode::invalid_argument,
                          "image size " + std::to_string(width) + "x" + std::to_string(height) + " is empty");
    if (factor <= 0 || temporal_factor <= 0 || min_pixels < 0 || max_pixels <= 0)
        return make_error(ErrorCode::invalid_argument, "smart_resize: bad processor settings");
    if (num_frames < temporal_factor)
        return make_error(ErrorCode::invalid_argument, "smart_resize: " + std::to_string(num_frames) +
                                                           " frames, need at least " + std::to_string(temporal_factor));
    // Python computes in doubles; so do we, so that the banker's rounding below sees the same values.
    double h = double(height), w = double(width);
    if (h < factor || w < factor) {
        // HF scales tiny images up so the short side reaches one merge block, truncating like int().
        double scale = std::max(factor / h, factor / w);
        h            = std::trunc(h * scale);
        w            = std::trunc(w * scale);
        if (h < 1 || w < 1)
            return make_error(ErrorCode::out_of_range, "image " + std::to_string(width) + "x" +
                                                           std::to_string(height) + " is too thin to scale up");
    }
    if (std::max(h, w) / std::min(h, w) > 200)
        return make_error(ErrorCode::out_of_range, "image aspect ratio " + std::to_string(width) + "x" +
                                                       std::to_string(height) +
                                                       " exceeds 200:1; crop it before attaching");
    const double f = factor;
    // std::nearbyint rounds half to even under the default rounding mode, as Python's round() does.
    double h_bar = std::nearbyint(h / f) * f;
    double w_bar = std::nearbyint(w / f) * f;
    double t_bar = std::nearbyint(double(num_frames) / temporal_factor) * temporal_factor;
    if (t_bar * h_bar * w_bar > double(max_pixels)) {
        double beta = std::sqrt(double(num_frames) * h * w / double(max_pixels));
        h_bar       = std::max(f, std::floor(h / beta / f) * f);
        w_bar       = std::max(f, std::floor(w / beta / f) * f);
    } else if (t_bar * h_bar * w_bar < double(min_pixels)) {
        double beta = std::sqrt(double(min_pixels) / (double(num_frames) * h * w));
        h_bar       = std::ceil(h * beta / f) * f;
        w_bar       = std::ceil(w * beta / f) * f;
    }
    if (h_bar < f || w_bar < f || h_bar > max_side_px || w_bar > max_side_px)
        return make_error(ErrorCode::out_of_range, "smart_resize: target size out of range for " +
                                                       std::to_string(width) + "x" + std::to_string(height));
    return ResizedSize{int(h_bar), int(w_bar)};
}

} // namespace glmv
