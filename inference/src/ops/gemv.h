// Matrix-vector products for decoding: y[r] = Σ_i x[i]·W[r][i] over many weight rows, with the vector prepared once
// per product in the form the fastest kernel for this CPU wants (split into two bf16 halves for AVX512-BF16,
// de-interleaved for AVX-512F, quantised to int8 per group of 32 for AVX512-VNNI and AVX2). Rows are processed four
// at a time: bf16 rows (mapped from the file, row-major) as four weight streams per core, q8/q4 rows from their
// blocks of four (quant_blocks.h) as one. Decode reads every weight once per token, so these loops are what the
// memory roofline measures.
#pragma once

#include <cstdint>
#include <vector>

namespace glmv::ops {

enum class GemvWeights { bf16, q8, q4 };

// The vector of one matrix-vector product, in every form a kernel may read. Reused between calls (the buffers
// keep their capacity), so a decode step allocates nothing.
struct GemvVector {
    GemvWeights  kind = GemvWeights::bf16;
    const float* x    = nullptr;
    int64_t      n    = 0;
    // bf16, AVX512-BF16: x ≈ hi + lo, both bf16, so two bf16 dot products give nearly fp32 accuracy.
    std::vector<uint16_t> hi, lo;
    // bf16, AVX-512F: x[2j] and x[2j+1], matching the low and high halves of each 32-bit lane of weights.
    std::vector<float> even, odd;
    // q8/q4, AVX512-VNNI and AVX2: x quantised per group of 32 (int8 + fp32 scale), padded with zero groups to
    // whole chunks of four groups like the weights (quant_blocks.h).
    std::vector<int8_t>  q;        // q8: natural order; q4: per 4 groups (AVX2: 2), the low-nibble halves then the high ones
    std::vector<int8_t>  q_natural; // q4: the natural order, before the rearrangement
    std::vector<uint8_t> q_offset; // q8, VNNI: q + 128 (the unsigned operand of vpdpbusd)
    std::vector<float>   scale;    // per group
    std::vector<int32_t> q4_bias;  // q4: per 32-bit lane of a block of q, 8·Σ of the x values that meet it
    std::vector<float>   lane_scale; // per 32-bit lane of q, the x scale of the lane's group
};

// Prepares x (length n) for products with weights of the given kind.
void gemv_prepare(const float* x, int64_t n, GemvWeights kind, GemvVector& v);

// y[r] = Σ x·W[r] for `rows` rows starting at w (row stride n elements).
void gemv_bf16_rows(const GemvVector& v, const uint16_t* w, int64_t rows, float* y);
// The same for `n_blocks` blocks of four q8/q4 rows (quant_blocks.h) starting at `blocks`: 4·n_blocks outputs,
// padding rows included (they are 0).
void gemv_q8_blocks(const GemvVector& v, const uint8_t* blocks, int64_t n_blocks, float* y);
void gemv_q4_blocks(const GemvVector& v, const uint8_t* blocks, int64_t n_blocks, float* y);

// Which kernels gemv_* use: e.g. "avx512-bf16", "avx512-vnni", "avx512", "avx2", "portable".
const char* gemv_isa(GemvWeights kind);

} // namespace glmv::ops
