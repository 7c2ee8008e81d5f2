// The GLM-4.1V vision tower (spec §5): patches of several independent t = 1 sequences (images or video frame
// pairs) → merged embeddings that replace the <|image|> tokens.
#pragma once

#include <atomic>
#include <vector>

#include "glmv/inference/engine.h"
#include "model/model_impl.h"

namespace glmv {

// pixels: [Σ h·w, patch_dim] rows of every sequence in order, 2×2 blocks contiguous (processor order).
// grids: one (1, h, w) per sequence. out: [Σ h·w / 4, out_hidden]. Sequences run through the tower in groups of
// at most group_patches patches (whole sequences; with a tap, all at once).
Status encode_vision(const Model::Impl& model, const float* pixels, const std::vector<GridTHW>& grids,
                     int64_t group_patches, std::vector<float>* out, const ActivationTap* tap, const std::atomic<bool>* cancel);

} // namespace glmv
