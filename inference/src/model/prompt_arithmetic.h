// LoadParams::prompt_arithmetic applied to a loaded model (engine.h says what each choice means).
#pragma once

#include "model/model_impl.h"

namespace glmv {

// Whether `a` means bf16 products on this CPU.
bool resolves_to_bf16(PromptArithmetic a);

// Marks every matrix of the model's products (vision tower, decoder, LM head) for bf16 products, or for fp32 ones.
void set_bf16_products(Model::Impl& m, bool on);

} // namespace glmv
