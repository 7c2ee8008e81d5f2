// ModelInputs ⇄ safetensors, in the tensor names of the Hugging Face processor, so prompts built here can be run by
// `glmv-cli forward` and compared with transformers.
//
//   auto in = glmv::read_model_inputs("in.safetensors");   // input_ids [1,S] int64, optional mm_token_type_ids,
//                                                           // pixel_values [N,1176] f32, image_grid_thw [k,3] …
//   GLMV_RETURN_IF_ERROR(glmv::write_model_inputs("copy.safetensors", *in));
#pragma once

#include <string>

#include "glmv/inference/engine.h"

namespace glmv {

Result<ModelInputs> read_model_inputs(const std::string& path);
Status              write_model_inputs(const std::string& path, const ModelInputs& in);

} // namespace glmv
