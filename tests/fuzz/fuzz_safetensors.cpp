// Fuzzes the safetensors validator: whatever the bytes, parse() either rejects them or every accepted tensor lies
// inside the buffer with nbytes = dtype size × elements. Accepted files then go through the quantised-file validator
// (glmv-cli quantize's format): whatever it accepts pairs every q8/q4 data tensor with a scale table of one F32 per
// group of 32 weights, so a kernel reading both stays inside them. Seeds: tests/fuzz/seeds/safetensors.
#include <cstdint>
#include <cstdlib>

#include "glmv/inference/quantize.h"
#include "glmv/inference/safetensors.h"

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_quantized(const glmv::SafetensorsFile& f) {
    auto format = glmv::quantized_file_format(f);
    if (!format.ok() || format.value() == glmv::WeightFormat::bf16) return;
    const bool        q4     = format.value() == glmv::WeightFormat::q4;
    const std::string suffix = q4 ? ".q4" : ".q8";
    for (const glmv::TensorView& t : f.tensors()) {
        if (!ends_with(t.name, suffix)) continue;
        const glmv::TensorView* s = f.find(t.name + "_scale");
        if (!s || t.shape.size() != 2 || s->dtype != glmv::DType::f32) std::abort();
        const uint64_t weights = uint64_t(t.numel()) * (q4 ? 2 : 1);
        if (uint64_t(s->numel()) * 32 != weights || s->shape[0] != t.shape[0]) std::abort();
        if (reinterpret_cast<uintptr_t>(s->data) % 4 != 0) std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto r = glmv::SafetensorsFile::parse(data, size, "fuzz");
    if (!r.ok()) return 0;
    for (const glmv::TensorView& t : r->tensors()) {
        if (t.data < data || t.data + t.nbytes > data + size) std::abort();
        if (uint64_t(t.numel()) * glmv::dtype_size(t.dtype) != t.nbytes) std::abort();
        if (t.nbytes > 0 && t.nbytes <= 4096) {
            volatile float sink = 0;
            for (float v : glmv::tensor_to_f32(t))
                sink = sink + v;
        }
    }
    check_quantized(*r);
    return 0;
}
