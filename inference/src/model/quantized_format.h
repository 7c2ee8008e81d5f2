// The names, dtypes and metadata of the quantised-folder format (documented in glmv/inference/quantize.h), in one
// place for the writer (quantize_writer.cpp), the loader (model_load.cpp) and the validator (quantized_format.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "glmv/inference/engine.h"
#include "glmv/inference/safetensors.h"
#include "ops/ops.h"

namespace glmv::quantized {

inline constexpr const char* kKeyFormat  = "glmv_quant";
inline constexpr const char* kKeyGroup   = "glmv_quant_group";
inline constexpr const char* kKeyVersion = "glmv_quant_version";

ops::Quant to_quant(WeightFormat f);

// <base>.q8 / <base>.q4 and <base>.q8_scale / <base>.q4_scale
std::string data_name(const std::string& base, WeightFormat f);
std::string scale_name(const std::string& base, WeightFormat f);
// I8 for q8, U8 for q4 (two weights per byte)
DType data_dtype(WeightFormat f);
// Columns of the stored data tensor of a [rows, cols] matrix: cols (q8) or cols / 2 (q4).
int64_t data_cols(int64_t cols, WeightFormat f);

// The __metadata__ entries every shard of a quantised folder carries.
std::map<std::string, std::string> shard_metadata(WeightFormat f);

} // namespace glmv::quantized
