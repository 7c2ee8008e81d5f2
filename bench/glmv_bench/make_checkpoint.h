#pragma once

#include <string>

#include "glmv/common/status.h"

namespace glmv::bench {

// Writes DIR/model-XXXXX-of-YYYYY.safetensors (bf16, ≤ shard_bytes each), model.safetensors.index.json and a copy
// of config.json (plus processor/tokenizer files found beside it).
Status make_checkpoint(const std::string& config_path, const std::string& out_dir, uint64_t shard_bytes = 5ull << 30,
                       uint64_t seed = 1234);

} // namespace glmv::bench
