// 3D rope positions (the reference get_rope_index). Walks runs of equal mm_token_type_ids: text advances all three
// axes together; an image (or one video frame pair) places its merged grid at (p + t, p + row, p + col) and then
// moves p past the largest of those. Spec §6.
#include <algorithm>

#include "glmv/inference/engine.h"
#include "text/rope_index.h"

namespace glmv {

std::vector<int64_t> derive_mm_token_types(const ModelConfig& cfg, const std::vector<int64_t>& ids) {
    std::vector<int64_t> types(ids.size(), 0);
    bool                 in_video = false;
    for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] == cfg.video_start_token_id) in_video = true;
        else if (ids[i] == cfg.video_end_token_id) in_video = false;
        else if (ids[i] == cfg.image_token_id || ids[i] == cfg.video_token_id) types[i] = in_video ? 2 : 1;
    }
    return types;
}

Status plan_media_runs(const ModelConfig& cfg, const ModelInputs& in, const std::vector<int64_t>& types,
                       std::vector<MediaRun>* runs) {
    const int64_t merge = cfg.vision.spatial_merge_size;
    size_t        image_i = 0, video_i = 0;
    int64_t       video_pair = 0;
    int64_t       image_row = 0, video_row = 0; // patch-row offsets into pixel_values / pixel_values_videos
    runs->clear();
    const size_t S = types.size();
    for (size_t i = 0; i < S;) {
        size_t j = i;
        while (j < S && types[j] == types[i]) ++j;
        const int64_t len = int64_t(j - i);
        if (types[i] == 1) {
            // Consecutive images could in principle touch; split the run by grid sizes.
            int64_t left = len, start = int64_t(i);
            while (left > 0) {
                if (image_i >= in.image_grid_thw.size())
                    return Status(ErrorCode::invalid_argument, "the prompt has more image tokens than image_grid_thw describes");
                const GridTHW& g = in.image_grid_thw[image_i];
                const int64_t  n = g.t * (g.h / merge) * (g.w / merge);
                if (n > left)
                    return Status(ErrorCode::invalid_argument,
                                  "image " + std::to_string(image_i) + " needs " + std::to_string(n) +
                                      " image tokens but the prompt has " + std::to_string(left));
                runs->push_back({start, n, false, int64_t(image_i), 0, g, image_row});
                image_row += g.patches();
                start += n;
                left -= n;
                ++image_i;
            }
        } else if (types[i] == 2) {
            if (video_i >= in.video_grid_thw.size())
                return Status(ErrorCode::invalid_argument, "the prompt has more video tokens than video_grid_thw describes");
            const GridTHW& g = in.video_grid_thw[video_i];
            const int64_t  n = (g.h / merge) * (g.w / merge);
            if (n != len)
                return Status(ErrorCode::invalid_argument,
                              "a video frame pair needs " + std::to_string(n) + " tokens but the prompt has " +
                                  std::to_string(len));
            runs->push_back({int64_t(i), n, true, int64_t(video_i), video_pair, GridTHW{1, g.h, g.w},
                             video_row + video_pair * g.h * g.w});
            if (++video_pair >= g.t) {
                video_row += g.patches();
                video_pair = 0;
                ++video_i;
            }
        }
        i = j;
    }
    if (image_i != in.image_grid_thw.size())
        return Status(ErrorCode::invalid_argument, "image_grid_thw lists " + std::to_string(in.image_grid_thw.size()) +
                                                       " images but the prompt has tokens for " + std::to_string(image_i));
    if (video_i != in.video_grid_thw.size() || video_pair != 0)
        return Status(ErrorCode::invalid_argument, "video_grid_thw does not match the video tokens in the prompt");
    return {};
}

Status compute_rope_index(const ModelConfig& cfg, const ModelInputs& in, std::vector<int64_t>* positions,
                          int64_t* rope_delta) {
    const int64_t        S     = int64_t(in.input_ids.size());
    std::vector<int64_t> types = in.mm_token_type_ids.empty() ? derive_mm_token_types(cfg, in.input_ids)
                                                               : in.mm_token_type_ids;
    if (int64_t(types.size()) != S)
        return Status(ErrorCode::invalid_argument, "mm_token_type_ids and input_ids differ in length");
    std::vector<MediaRun> runs;
    GLMV_RETURN_IF_ERROR(plan_media_runs(cfg, in, types, &runs));
    rope_positions(cfg, S, runs, positions, rope_delta);
    return {};
}

void rope_positions(const ModelConfig& cfg, int64_t S, const std::vector<MediaRun>& runs, std::vector<int64_t>* positions,
                    int64_t* rope_delta) {
    positions->assign(size_t(3 * S), 0);
    int64_t* pt = positions->data();
    int64_t* ph = pt + S;
    int64_t* pw = ph + S;
    const int64_t merge = cfg.vision.spatial_merge_size;
    int64_t       p = 0, max_pos = -1;
    size_t        r = 0;
    for (int64_t i = 0; i < S;) {
        if (r < runs.size() && runs[r].start == i) {
            const MediaRun& m  = runs[r++];
            const int64_t   gh = m.grid.h / merge, gw = m.grid.w / merge;
            int64_t         k  = i, run_max = p;
            for (int64_t t = 0; t < m.grid.t; ++t)
                for (int64_t y = 0; y < gh; ++y)
                    for (int64_t x = 0; x < gw; ++x, ++k) {
                        pt[k] = p + t;
                        ph[k] = p + y;
                        pw[k] = p + x;
                        run_max = std::max({run_max, pt[k], ph[k], pw[k]});
                    }
            max_pos = std::max(max_pos, run_max);
            p       = run_max + 1;
            i += m.tokens;
        } else {
            pt[i] = ph[i] = pw[i] = p;
            max_pos = std::max(max_pos, p);
            ++p;
            ++i;
        }
    }
    *rope_delta = max_pos + 1 - S;
}

} // namespace glmv
