// Fuzzes config.json parsing: accepted configs have consistent derived sizes within the caps.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "glmv/inference/limits.h"
#include "glmv/inference/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > (1u << 20)) return 0;
    auto r = glmv::parse_model_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    if (!r.ok()) return 0;
    const glmv::TextConfig& t = r->text;
    if (t.head_dim * t.n_head != t.hidden_size) std::abort();
    if (t.mrope_section[0] + t.mrope_section[1] + t.mrope_section[2] != t.rotary_dim / 2) std::abort();
    if (t.n_layer > glmv::limits::config_max_layers || t.vocab_size > glmv::limits::config_max_vocab) std::abort();
    if (r->vision.head_dim * r->vision.n_head != r->vision.hidden_size) std::abort();
    return 0;
}
