// Model::Impl: the config plus every weight of the architecture bound by name, checked at load.
#pragma once

#include <string>
#include <vector>

#include "glmv/inference/engine.h"
#include "model/weight_store.h"
#include "ops/ops.h"

namespace glmv {

using ops::WeightMatrix;

struct VisionBlockWeights {
    std::vector<float> norm1, norm2;       // [H]
    WeightMatrix       qkv;                // [3H, H]
    std::vector<float> qkv_bias;           // [3H] or empty
    WeightMatrix       proj;               // [H, H]
    std::vector<float> proj_bias;          // [H] or empty
    WeightMatrix       gate, up;           // [O, H]
    WeightMatrix       down;               // [H, O]
};

struct VisionWeights {
    WeightMatrix                    patch_embed;      // Conv3d [H, 3, 2, 14, 14] viewed as [H, 1176]
    std::vector<float>              patch_embed_bias; // [H]
    std::vector<float>              post_conv_norm;   // [H]
    std::vector<float>              pos_table;        // [G·G, H] (G = image_size / patch), fp32 copy (small)
    std::vector<VisionBlockWeights> blocks;
    std::vector<float>              post_norm;        // [H]
    WeightMatrix                    downsample;       // Conv2d [O, H, 2, 2] viewed as [O, 4H]
    std::vector<float>              downsample_bias;  // [O]
    WeightMatrix                    merger_proj;      // [O, O]
    std::vector<float>              merger_ln_w, merger_ln_b; // [O]
    WeightMatrix                    merger_gate, merger_up;   // [I, O]
    WeightMatrix                    merger_down;              // [O, I]
};

struct TextLayerWeights {
    std::vector<float> input_norm, post_self_attn_norm, post_attention_norm, post_mlp_norm; // [H]
    WeightMatrix       q, k, v;          // [nh·hd, H], [nkv·hd, H]
    std::vector<float> q_bias, k_bias, v_bias;
    WeightMatrix       o;                // [H, nh·hd]
    WeightMatrix       gate_up;          // [2I, H]: rows [0, I) gate, [I, 2I) up
    WeightMatrix       down;             // [H, I]
};

struct TextWeights {
    WeightMatrix                  embed;   // [V, H]
    std::vector<TextLayerWeights> layers;
    std::vector<float>            norm;    // [H]
    WeightMatrix                  lm_head; // [V, H]
};

// A matrix that q8/q4 apply to, as bound from a dense folder: quantised at load or written by glmv-cli quantize.
// The list is made while binding (model_load.cpp), so both paths quantise the same matrices the same way.
struct QuantizableMatrix {
    std::string       name;   // stored name of the quantised form's base: the source tensor's own name, or
                              // "lm_head.weight" for a tied LM head
    WeightMatrix*     matrix; // into Model::Impl::text; dense until quantised
    const TensorView* source; // the dense tensor it is read from (the embedding table for a tied LM head)
    bool              tied;   // the source stays in the model as well (tied LM head)
};

struct Model::Impl {
    ModelConfig                    config;
    std::string                    model_dir;
    WeightStore                    store;
    VisionWeights                  vision;
    TextWeights                    text;
    LoadParams                     params;
    WeightFormat                   weights = WeightFormat::bf16; // what the matrices are in memory
    uint64_t                       weight_bytes = 0;
    bool                           bf16_products = false; // LoadParams::prompt_arithmetic as resolved here
    std::vector<QuantizableMatrix> quantizable; // empty for a quantised folder (already quantised)
};

} // namespace glmv
