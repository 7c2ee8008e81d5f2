// Fuzzes the safetensors validator: whatever the bytes, parse() either rejects them or every accepted tensor lies
// inside the buffer with nbytes = dtype size × elements.
#include <cstdint>
#include <cstdlib>

#include "glmv/inference/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto r = glmv::SafetensorsFile::parse(data, size, "fuzz");
    if (!r.ok()) return 0;
    for (const glmv::TensorView& t : r->tensors()) {
        if (t.data < data || t.data + t.nbytes > data + size) std::abort();
        if (uint64_t(t.numel()) * glmv::dtype_size(t.dtype) != t.nbytes) std::abort();
        if (t.nbytes > 0 && t.nbytes <= 4096) {
            volatile float sink = 0;
            for (float v : glmv::tensor_to_f32(t)) sink = sink + v;
        }
    }
    return 0;
}
