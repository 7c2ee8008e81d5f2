// resize → rescale/normalise → patchify, for one image or a video (spec §3.3–§3.5, §4).
#include <cmath>
#include <vector>

#include "glmv/inference/preprocess.h"

namespace glmv {

namespace {

Status check_view(const RgbView& v) {
    if (!v.data || v.width <= 0 || v.height <= 0)
        return make_error(ErrorCode::invalid_argument, "empty image (" + std::to_string(v.width) + "x" +
                                                           std::to_string(v.height) + ")");
    return {};
}

Status check_config(const ImageProcessorConfig& cfg) {
    if (cfg.patch_size <= 0 || cfg.merge_size <= 0 || cfg.temporal_patch_size <= 0 || cfg.patch_size > 1024 ||
        cfg.merge_size > 64 || cfg.temporal_patch_size > 64)
        return make_error(ErrorCode::invalid_argument, "processor config: bad patch/merge/temporal sizes");
    for (double s : cfg.image_std)
        if (!(s > 0)) return make_error(ErrorCode::invalid_argument, "processor config: image_std must be > 0");
    return {};
}

// Resizes each frame to (h, w) and normalises it: out[f] is [h][w][3] f32.
void resize_normalize(std::span<const RgbView> frames, int h, int w, const ImageProcessorConfig& cfg,
                      std::vector<std::vector<float>>& out) {
    // Fused like HF's rescale_and_normalize: (x − mean/rescale) / (std/rescale), in float32.
    float mean[3], inv_std[3];
    for (int c = 0; c < 3; ++c) {
        double scale = cfg.do_rescale ? cfg.rescale_factor : 1.0;
        double m     = cfg.do_normalize ? cfg.image_mean[c] : 0.0;
        double s     = cfg.do_normalize ? cfg.image_std[c] : 1.0;
        mean[c]      = float(m / scale);
        inv_std[c]   = float(1.0 / float(s / scale));
    }
    out.assign(frames.size(), {});
    const int64_t n = int64_t(frames.size());
    // Frames are independent: one per thread. resize_bicubic_aa_u8 nests its own loops only for large frames.
#pragma omp parallel for schedule(dynamic, 1) if (n > 1)
    for (int64_t f = 0; f < n; ++f) {
        std::vector<uint8_t> resized(size_t(h) * w * 3);
        resize_bicubic_aa_u8(frames[f], w, h, resized.data());
        std::vector<float>& dst = out[f];
        dst.resize(resized.size());
        for (size_t i = 0; i < resized.size(); ++i) {
            int c  = int(i % 3);
            dst[i] = (float(resized[i]) - mean[c]) * inv_std[c];
        }
    }
}

// frames: grid_t·tp normalised frames [h][w][3]; writes rows (t, bh, bw, mh, mw) × (c, tp, py, px).
void patchify(const std::vector<const float*>& frames, int h, int w, const ImageProcessorConfig& cfg,
              PixelValues& pv) {
    const int ps = cfg.patch_size, m = cfg.merge_size, tp = cfg.temporal_patch_size;
    const int64_t gh = h / ps, gw = w / ps, grid_t = int64_t(frames.size()) / tp;
    pv.row_len  = int64_t(3) * tp * ps * ps;
    pv.n_rows   = grid_t * gh * gw;
    pv.grid_thw = {grid_t, gh, gw};
    pv.values.assign(size_t(pv.n_rows * pv.row_len), 0.0f);
    const int64_t bh_n = gh / m, bw_n = gw / m;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t t = 0; t < grid_t; ++t)
        for (int64_t bh = 0; bh < bh_n; ++bh)
            for (int64_t bw = 0; bw < bw_n; ++bw)
                for (int mh = 0; mh < m; ++mh)
                    for (int mw = 0; mw < m; ++mw) {
                        const int64_t row = (((t * bh_n + bh) * bw_n + bw) * m + mh) * m + mw;
                        float*        dst = &pv.values[size_t(row * pv.row_len)];
                        const int64_t y0 = (bh * m + mh) * ps, x0 = (bw * m + mw) * ps;
                        for (int c = 0; c < 3; ++c)
                            for (int k = 0; k < tp; ++k) {
                                const float* src = frames[size_t(t * tp + k)];
                                for (int py = 0; py < ps; ++py) {
                                    const float* line = src + ((y0 + py) * w + x0) * 3 + c;
                                    for (int px = 0; px < ps; ++px) *dst++ = line[px * 3];
                                }
                            }
                    }
}

} // namespace

Result<PixelValues> preprocess_image(RgbView image, const ImageProcessorConfig& cfg) {
    GLMV_RETURN_IF_ERROR(check_view(image));
    GLMV_RETURN_IF_ERROR(check_config(cfg));
    ResizedSize size{image.height, image.width};
    if (cfg.do_resize) {
        auto r = smart_resize(cfg.temporal_patch_size, image.height, image.width, cfg.temporal_patch_size,
                              cfg.factor(), cfg.min_pixels, cfg.max_pixels);
        if (!r) return r.status();
        size = *r;
    } else if (size.height % cfg.factor() || size.width % cfg.factor()) {
        return make_error(ErrorCode::invalid_argument, "do_resize is off and the image is not a multiple of " +
                                                           std::to_string(cfg.factor()) + " pixels");
    }
    std::vector<std::vector<float>> norm;
    RgbView                         views[1] = {image};
    resize_normalize(views, size.height, size.width, cfg, norm);
    // A still image is its own temporal partner: the same frame tp times.
    std::vector<const float*> frames(size_t(cfg.temporal_patch_size), norm[0].data());
    PixelValues               pv;
    patchify(frames, size.height, size.width, cfg, pv);
    return pv;
}

Result<PixelValues> preprocess_video(std::span<const RgbView> frames, const ImageProcessorConfig& cfg) {
    GLMV_RETURN_IF_ERROR(check_config(cfg));
    if (frames.empty()) return make_error(ErrorCode::invalid_argument, "video has no frames");
    for (const RgbView& f : frames) {
        GLMV_RETURN_IF_ERROR(check_view(f));
        if (f.width != frames[0].width || f.height != frames[0].height)
            return make_error(ErrorCode::invalid_argument, "video frames differ in size");
    }
    // HF pads the frame count up to a multiple of the temporal patch by repeating the last frame.
    std::vector<RgbView> padded(frames.begin(), frames.end());
    while (padded.size() % size_t(cfg.temporal_patch_size)) padded.push_back(padded.back());
    ResizedSize size{frames[0].height, frames[0].width};
    if (cfg.do_resize) {
        auto r = smart_resize(int64_t(frames.size()), size.height, size.width, cfg.temporal_patch_size,
                              cfg.factor(), cfg.min_pixels, cfg.max_pixels);
        if (!r) return r.status();
        size = *r;
    } else if (size.height % cfg.factor() || size.width % cfg.factor()) {
        return make_error(ErrorCode::invalid_argument, "do_resize is off and the frames are not a multiple of " +
                                                           std::to_string(cfg.factor()) + " pixels");
    }
    // Only distinct frames are resized; the padding reuses the last one.
    std::vector<std::vector<float>> norm;
    resize_normalize(frames, size.height, size.width, cfg, norm);
    std::vector<const float*> ptrs;
    for (size_t i = 0; i < padded.size(); ++i) ptrs.push_back(norm[std::min(i, norm.size() - 1)].data());
    PixelValues pv;
    patchify(ptrs, size.height, size.width, cfg, pv);
    return pv;
}

Status append_pixels(PixelBatch& batch, PixelValues&& pv) {
    if (batch.row_len != 0 && batch.row_len != pv.row_len)
        return make_error(ErrorCode::invalid_argument, "pixel rows of different lengths cannot be batched");
    batch.row_len = pv.row_len;
    batch.values.insert(batch.values.end(), pv.values.begin(), pv.values.end());
    batch.n_rows += pv.n_rows;
    batch.grids.push_back(pv.grid_thw);
    return {};
}

} // namespace glmv
