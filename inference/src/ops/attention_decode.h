// Attention of one new token against the KV cache (decode). Written for this shape because the general blocked
// path gives each query head its own task: with grouped KV heads (the 9B has 32 query heads on 2 KV heads) every
// head re-reads its group's keys and values, and 32 tasks leave a long cache to few threads at a time. Here a task
// is a piece of the cache of one KV head; it scores all query heads of the group against each key while the key is
// in L1, and the pieces are merged with the usual max/sum rescaling (split-K, as in flash decoding).
#pragma once

#include "ops.h"

namespace glmv::ops {

// Which compiled variant runs: the one the CPU supports (kernel_isa()), or a named one for tests.
enum class DecodeAttentionIsa { automatic, portable, avx2, avx512 };

// q: one row (n_q must be 1); shapes and strides as for attention(). With `causal`, the query sees keys
// [0, q_offset]. Returns false (and writes nothing) for shapes it does not handle.
bool attention_decode(const float* q, const float* k, const float* v, float* out, const AttentionShape& s,
                      DecodeAttentionIsa isa = DecodeAttentionIsa::automatic);

} // namespace glmv::ops
