// Dense kernels of the engine, all on fp32 activations. Weights stay in their file dtype (bf16/f16/f32, memory-
// mapped) and are widened on the fly, so loading never copies the checkpoint.
//
// Threading: every function parallelises internally with OpenMP; call them from one thread at a time per buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "glmv/inference/safetensors.h"

namespace glmv::ops {

// Storage of a weight matrix: the file's dense dtype, or group-quantised (kernels.h: one scale per 32 weights).
enum class Quant { none, q8, q4 };

// An allocator whose containers leave new elements of trivial types uninitialised (default-initialised) instead of
// zeroing them. For buffers that are written whole before they are read: a std::vector<uint8_t>(n) of quantised
// weights was zero-filled by the calling thread alone, page-faulting gigabytes while the other threads waited; now
// the pages are first touched by the parallel loop that fills them.
//
// Large blocks (quantised weights, a long prompt's activations) come from large_block_allocate: whole 2 MB-aligned
// pages asked for transparent huge pages, because decode streams gigabytes of weights per token and with 4 KB pages
// every 4 KB is a TLB miss at which the hardware prefetchers stop.
void* large_block_allocate(std::size_t bytes); // throws std::bad_alloc
void  large_block_release(void* p, std::size_t bytes) noexcept;

template <typename T> struct NoInitAllocator : std::allocator<T> {
    template <typename U> struct rebind { using other = NoInitAllocator<U>; };
    NoInitAllocator() = default;
    template <typename U> NoInitAllocator(const NoInitAllocator<U>&) noexcept {}
    T*   allocate(std::size_t n) { return static_cast<T*>(large_block_allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { large_block_release(p, n * sizeof(T)); }
    template <typename U> void                   construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
    template <typename U, typename... Args> void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};
using OwnedBytes  = std::vector<uint8_t, NoInitAllocator<uint8_t>>;
using OwnedFloats = std::vector<float, NoInitAllocator<float>>;

// A weight matrix [rows = out features, cols = in features]. Dense weights are row-major and point into the mapped
// file; quantised ones own their bytes in blocks of four rows with the scales inside (quant_blocks.h), made at load
// time from the dense weights or from a quantised folder's row-major tensors.
struct WeightMatrix {
    DType          dtype  = DType::f32; // for Quant::none
    Quant          quant  = Quant::none;
    const uint8_t* data   = nullptr;
    int64_t        rows   = 0;
    int64_t        cols   = 0;
    OwnedBytes     owned;
    // Products of many rows (prompts, the vision tower) round the input rows to bf16 and multiply in bf16 with fp32
    // sums (gemm_bf16), weights narrowed to bf16 where they are not bf16 already: LoadParams::prompt_arithmetic.
    bool bf16_products = false;

    bool     empty() const { return data == nullptr; }
    uint64_t bytes() const;             // storage bytes read by one pass over the matrix
};

// Whether q8/q4 apply to a matrix whose rows hold `cols` weights: rows must split into whole groups of 32. Load-time
// quantisation, glmv-cli quantize and the loader of its folders all ask this, so they leave the same matrices dense.
bool can_quantize(int64_t cols);
// Replaces a dense matrix by its q8 or q4 form (a matrix that cannot be quantised stays dense).
void quantize_matrix(WeightMatrix& w, Quant q);
// The q8/q4 form of a dense matrix in the row-major layout of quantised folders: row r's bytes at data + r·cols (q8)
// or r·cols/2 (q4), its cols/32 scales at scales + r·cols/32 (glmv-cli quantize writes these).
void quantize_rows(const WeightMatrix& w, Quant q, OwnedBytes& data, OwnedFloats& scales);
// A quantised matrix from that row-major layout (mapped from a quantised folder), repacked into the engine's blocks.
WeightMatrix pack_quantized_rows(Quant q, const uint8_t* data, const float* scales, int64_t rows, int64_t cols);

// Widens row r of W into out[cols].
void weight_row_to_f32(const WeightMatrix& w, int64_t r, float* out);

// y[M, W.rows] = x[M, W.cols] · Wᵀ (+ bias[W.rows] when not null).
void linear(const float* x, int64_t M, const WeightMatrix& w, const float* bias, float* y);

// One input against several matrices (the decoder's q, k and v): y_i = x · W_iᵀ + bias_i, each [M, rows_i]. Where
// all take the matrix-vector path with the same width and format, the input is prepared once and all rows go out in
// one parallel loop: fewer thread hand-offs per token, and the small k/v products (256 rows in the 9B) no longer
// run alone on sixteen threads. Otherwise the same as one linear() per target.
struct LinearTarget {
    const WeightMatrix* w;
    const float*        bias; // may be null
    float*              y;
};
void linear_shared_input(const float* x, int64_t M, std::span<const LinearTarget> targets);

// y = x · rsqrt(mean(x²) + eps) · weight, per row of length n (in place allowed).
void rms_norm(const float* x, int64_t M, int64_t n, const float* weight, double eps, float* y);
// LayerNorm with weight and bias, per row (in place allowed).
void layer_norm(const float* x, int64_t M, int64_t n, const float* weight, const float* bias, double eps, float* y);

// x[i] += a[i] (residual connections; threaded for prefill-sized rows, where a serial loop would idle many cores)
void add_inplace(float* x, const float* a, int64_t n);
// out[i] = silu(gate[i]) · up[i]
void silu_mul(const float* gate, const float* up, int64_t n, float* out);
// exact (erf) GELU in place
void gelu_erf_inplace(float* x, int64_t n);

// Multi-head attention with grouped KV heads, computed block-wise so the full score matrix is never formed.
// q: [Sq, n_head·hd] row stride q_stride; k, v: [Sk, n_kv·hd] with row strides k_stride, v_stride;
// out: [Sq, n_head·hd]. With `causal`, query i sees keys [0, q_offset + i] (q_offset = keys already cached).
struct AttentionShape {
    int64_t n_q = 0, n_k = 0;   // query rows, key rows
    int64_t n_head = 0, n_head_kv = 0, head_dim = 0;
    int64_t q_stride = 0, k_stride = 0, v_stride = 0, out_stride = 0;
    bool    causal   = false;
    int64_t q_offset = 0;
    // Long attention's products in bf16 with fp32 sums and an fp32 softmax (LoadParams::prompt_arithmetic; the
    // callers pass their projections' WeightMatrix::bf16_products).
    bool bf16_products = false;
};
void attention(const float* q, const float* k, const float* v, float* out, const AttentionShape& s);

} // namespace glmv::ops
