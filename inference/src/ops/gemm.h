// Matrix-matrix products (prefill, the vision tower, long attention) through oneDNN's matmul: it JIT-compiles a
// blocked kernel for the CPU it finds (AVX2, AVX-512, AMX...) and reaches 70-75 % of the fp32 FMA peak where the
// engine's previous path (Eigen, compiled for baseline x86-64) reached 11 %. Writing such kernels by hand — packing,
// register blocking, cache tiling for every ISA — is what the library is for; it is Debian's libdnnl-dev.
//
// Every function returns false when oneDNN cannot run the operation on this machine; callers then use their own
// portable path. Threads: oneDNN's own OpenMP team, so call these from outside parallel regions.
#pragma once

#include <cstdint>

namespace glmv::ops {

// C[M, N] = alpha · A[M, K] · B[K, N], all fp32. A is row-major with row stride lda; C row-major with row stride ldc
// (overwritten). B is given either by its columns (`b_columns`: column n is the K values at b + n·ldb, i.e. a
// row-major [N, K] matrix such as a weight or a key block) or by its rows (row k is the N values at b + k·ldb).
template <typename T> struct GemmOperandsOf {
    const T* a         = nullptr;
    int64_t  lda       = 0;
    const T* b         = nullptr;
    int64_t  ldb       = 0;
    bool     b_columns = true;
    float*   c         = nullptr;
    int64_t  ldc       = 0;
};
using GemmOperands = GemmOperandsOf<float>;
bool gemm_f32(int64_t M, int64_t N, int64_t K, const GemmOperands& op, float alpha = 1.f);
// The same with A and B in bf16 (bits as uint16_t), C fp32: bf16 products with fp32 sums (gemm_bf16 below).
using GemmOperandsBf16 = GemmOperandsOf<uint16_t>;
bool gemm_bf16_operands(int64_t M, int64_t N, int64_t K, const GemmOperandsBf16& op, float alpha = 1.f);

// C[M, N] = A[M, K] · Wᵀ for bf16 weights W [N, K] (row-major, row stride K), A and C as above, with oneDNN widening
// W to fp32 itself: one reorder per slab of rows writes the blocked layout its product reads, instead of the caller
// widening W into a row-major fp32 slab that the product then copies into that layout again.
bool gemm_bf16_weights(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const uint16_t* w, float* c,
                       int64_t ldc);

// The same for fp32 weights W [N, K] (row-major, row stride K): a slab of dequantised q8/q4 rows.
bool gemm_f32_weights_reordered(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* w, float* c,
                                int64_t ldc);

// C[M, N] = A · Wᵀ in bf16 products with fp32 sums: A [M, K] bf16 (row stride lda), W [N, K] bf16 row-major, C fp32
// (row stride ldc). Where the CPU multiplies bf16 natively (native_bf16_products) this runs at twice the fp32 rate
// per AVX-512 instruction, and on AMX tiles at many times it; elsewhere oneDNN widens to fp32 itself or refuses.
// Weights are read where they lie (GLMV_GEMM_REORDER=1: reordered slab by slab, for comparison).
bool gemm_bf16(int64_t M, int64_t N, int64_t K, const uint16_t* a, int64_t lda, const uint16_t* w, float* c,
               int64_t ldc);

// Whether oneDNN runs bf16 products natively on this CPU (AVX512-BF16, or AMX which includes it).
bool native_bf16_products();

// Whether linear() reorders its weights for oneDNN's products (the two functions above): on AMD CPUs, not on Intel
// ones, where the bf16 reorder measured slower (16-core Xeon: prefill of 512 tokens 408-441 against 440-509 tokens/s).
// 2-core Zen 5 VM, M4, prefill of 512 tokens: bf16 144/174 -> 210/194 tokens/s, q4 123/147 -> 146/166, q8 within
// the VM's noise (171 -> 163 and an outlier pair 86 -> 175); vision 1 MP 7.2/7.6 -> 6.9/6.8 s.
// GLMV_GEMM_REORDER=1 or 0 overrides the choice.
bool prefer_reordered_weights();

// Softmax of each row of a dense row-major [rows, cols] matrix, in place (-inf entries become 0; every row must have
// a finite entry).
bool softmax_rows(float* x, int64_t rows, int64_t cols);

// oneDNN's name for the kernel it runs for a typical prefill product on this CPU ("brg:avx512_core", ...), or
// "unavailable".
const char* gemm_impl();
// The same for a bf16 product (gemm_bf16).
const char* gemm_bf16_impl();

} // namespace glmv::ops
