// Media runs of a prompt: which tokens belong to which image or video frame pair, and where their patches are.
#pragma once

#include <vector>

#include "glmv/inference/engine.h"

namespace glmv {

struct MediaRun {
    int64_t start  = 0;     // first token index in the prompt
    int64_t tokens = 0;     // merged tokens (grid.t · grid.h/2 · grid.w/2)
    bool    video  = false;
    int64_t media_index = 0; // index into image_grid_thw or video_grid_thw
    int64_t pair_index  = 0; // frame pair within the video
    GridTHW grid;            // the vision grid of this run (t = 1 for a video frame pair)
    int64_t patch_row = 0;   // first row of its patches in pixel_values / pixel_values_videos
};

// 0 text, 1 image token, 2 image token inside <|begin_of_video|>…<|end_of_video|>.
std::vector<int64_t> derive_mm_token_types(const ModelConfig& cfg, const std::vector<int64_t>& ids);

// Splits the media tokens into runs and checks them against the grids.
Status plan_media_runs(const ModelConfig& cfg, const ModelInputs& in, const std::vector<int64_t>& types,
                       std::vector<MediaRun>* runs);

// 3D positions ([3, S] row-major) and rope delta of a prompt of S tokens whose media runs are already planned.
void rope_positions(const ModelConfig& cfg, int64_t S, const std::vector<MediaRun>& runs, std::vector<int64_t>* positions,
                    int64_t* rope_delta);

} // namespace glmv
