// Reference tensors for the parity tests (links glmv_inference for the safetensors reader).
#pragma once

#include "glmv/inference/safetensors.h"
#include "media_test_util.h"

namespace glmv::test {

inline const SafetensorsFile& reference() {
    static SafetensorsFile* ref = [] {
        auto r = SafetensorsFile::open(tiny_dir() + "/reference.safetensors");
        if (!r) {
            std::fprintf(stderr, "cannot open reference: %s\n", r.status().to_string().c_str());
            std::abort();
        }
        return new SafetensorsFile(std::move(r.value()));
    }();
    return *ref;
}

} // namespace glmv::test
