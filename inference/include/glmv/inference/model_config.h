// GLM-4.1V hyper-parameters, loaded once from a model folder's config.json.
//
//   auto cfg = glmv::load_model_config("/models/GLM-4.1V-9B-Thinking/config.json");
//   if (!cfg) return cfg.status();
//   int n_layer = cfg->text.n_layer;        // 40
//
// Both schemas are accepted: the flat one the released model ships (text fields at top level, rope_scaling with
// mrope_section, partial_rotary_factor at top level, vision_config nested) and the nested one newer transformers
// writes (text_config, vision_config, rope_parameters). Every value is range-checked against limits.h and the
// derived sizes (head_dim, rotary dim, mrope sections) are checked for consistency.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "glmv/common/status.h"

namespace glmv {

struct TextConfig {
    int64_t              vocab_size      = 0;
    int64_t              hidden_size     = 0;
    int64_t              n_layer         = 0;
    int64_t              n_head          = 0;
    int64_t              n_head_kv       = 0;
    int64_t              head_dim        = 0; // hidden_size / n_head
    int64_t              intermediate    = 0; // MLP hidden
    double               rms_norm_eps    = 1e-5;
    double               rope_theta      = 10000.0;
    double               partial_rotary  = 0.5;
    int64_t              rotary_dim      = 0;         // head_dim · partial_rotary (first dims of each head)
    std::array<int, 3>   mrope_section   = {0, 0, 0}; // frequencies per axis (t, h, w); sums to rotary_dim / 2
    bool                 attention_bias  = true;      // q, k, v biases
    int64_t              max_positions   = 0;
    std::vector<int64_t> eos_token_ids;
    int64_t              pad_token_id = -1;
};

struct VisionConfig {
    int64_t hidden_size         = 0;
    int64_t depth               = 0;
    int64_t n_head              = 0;
    int64_t head_dim            = 0;
    int64_t intermediate        = 0; // merger MLP hidden (the blocks use out_hidden_size)
    int64_t out_hidden_size     = 0; // = text hidden size
    int64_t patch_size          = 14;
    int64_t temporal_patch_size = 2;
    int64_t spatial_merge_size  = 2;
    int64_t image_size          = 336; // learned position table is (image_size/patch)²
    int64_t in_channels         = 3;
    double  rms_norm_eps        = 1e-5;
    double  rope_theta          = 10000.0;
    bool    attention_bias      = false;

    int64_t patch_dim() const { return in_channels * temporal_patch_size * patch_size * patch_size; } // 1176
    int64_t pos_grid() const { return image_size / patch_size; }                                      // 24
};

struct ModelConfig {
    TextConfig   text;
    VisionConfig vision;
    int64_t      image_token_id       = -1;
    int64_t      video_token_id       = -1;
    int64_t      image_start_token_id = -1;
    int64_t      image_end_token_id   = -1;
    int64_t      video_start_token_id = -1;
    int64_t      video_end_token_id   = -1;
    bool         tie_word_embeddings  = false;
    std::string  source_path;
};

Result<ModelConfig> load_model_config(const std::string& path);
Result<ModelConfig> parse_model_config(const std::string& json_text, const std::string& label);

} // namespace glmv
