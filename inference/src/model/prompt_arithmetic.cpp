// LoadParams::prompt_arithmetic: its names, and marking a loaded model's matrices for bf16 products.
#include "model/prompt_arithmetic.h"

#include "ops/gemm.h"

namespace glmv {

const char* prompt_arithmetic_name(PromptArithmetic a) {
    switch (a) {
    case PromptArithmetic::exact:
        return "exact";
    case PromptArithmetic::bf16:
        return "bf16";
    case PromptArithmetic::automatic:
        break;
    }
    return "auto";
}

std::optional<PromptArithmetic> prompt_arithmetic_named(std::string_view name) {
    if (name == "auto") return PromptArithmetic::automatic;
    if (name == "exact") return PromptArithmetic::exact;
    if (name == "bf16") return PromptArithmetic::bf16;
    return std::nullopt;
}

bool resolves_to_bf16(PromptArithmetic a) {
    return a == PromptArithmetic::bf16 || (a == PromptArithmetic::automatic && ops::native_bf16_products());
}

void set_bf16_products(Model::Impl& m, bool on) {
    auto           mark = [on](WeightMatrix& w) { w.bf16_products = on; };
    VisionWeights& v    = m.vision;
    mark(v.patch_embed);
    for (VisionBlockWeights& b : v.blocks)
        for (WeightMatrix* w : {&b.qkv, &b.proj, &b.gate, &b.up, &b.down})
            mark(*w);
    for (WeightMatrix* w : {&v.downsample, &v.merger_proj, &v.merger_gate, &v.merger_up, &v.merger_down})
        mark(*w);
    for (TextLayerWeights& l : m.text.layers)
        for (WeightMatrix* w : {&l.q, &l.k, &l.v, &l.o, &l.gate_up, &l.down})
            mark(*w);
    mark(m.text.lm_head);
    m.bf16_products = on;
}

} // namespace glmv
