// Every cap on sizes read from untrusted files, in one place (reliability.md §10.1).
#pragma once

#include <cstdint>

namespace glmv::limits {

// safetensors
inline constexpr uint64_t safetensors_max_header_bytes = 100ull * 1000 * 1000; // as the safetensors crate
inline constexpr int      safetensors_max_rank         = 8;
inline constexpr int64_t  safetensors_max_dim          = int64_t(1) << 40;
inline constexpr uint64_t safetensors_max_tensors      = 1u << 20;
inline constexpr int      sharded_index_max_shards     = 4096;

// config.json
inline constexpr uint64_t config_max_bytes          = 4u << 20;
inline constexpr int64_t  config_max_layers         = 1024;
inline constexpr int64_t  config_max_hidden         = 65536;
inline constexpr int64_t  config_max_heads          = 1024;
inline constexpr int64_t  config_max_intermediate   = 1 << 20;
inline constexpr int64_t  config_max_vocab          = 1 << 22;
inline constexpr int64_t  config_max_positions      = 1 << 24;

// inference
inline constexpr int64_t max_context_tokens = 1 << 20;

} // namespace glmv::limits
