// Dot-product kernels for matrix-vector products over each weight format, with runtime CPU dispatch: one binary
// runs on any x86-64 and uses AVX-512 or AVX2+FMA where the CPU has them (checked once with cpuid), else portable C++.
// Each kernel has a naive reference next to it (reference_*), the oracle of tests/inference/test_kernels.cpp.
#pragma once

#include <cstdint>

namespace glmv::ops {

// Group size of the q8/q4 formats: one fp32 scale per 32 consecutive weights of a row.
inline constexpr int64_t kQuantGroup = 32;

// Σ x[i]·w[i], w in bf16 bits.
float dot_bf16(const float* x, const uint16_t* w, int64_t n);
// Σ x[i]·q[i]·scale[i / 32]; n is a multiple of 32.
float dot_q8(const float* x, const int8_t* q, const float* scales, int64_t n);
// 4-bit: byte j of a group holds weights j (low nibble) and j + 16 (high nibble), stored as value + 8.
float dot_q4(const float* x, const uint8_t* q, const float* scales, int64_t n);
// bf16 bits → fp32
void  widen_bf16_row(const uint16_t* w, int64_t n, float* out);

float reference_dot_bf16(const float* x, const uint16_t* w, int64_t n);
float reference_dot_q8(const float* x, const int8_t* q, const float* scales, int64_t n);
float reference_dot_q4(const float* x, const uint8_t* q, const float* scales, int64_t n);

// Quantises a row of n floats (n a multiple of 32): q8 stores n bytes, q4 stores n/2 bytes; n/32 scales each.
void quantize_row_q8(const float* x, int64_t n, int8_t* q, float* scales);
void quantize_row_q4(const float* x, int64_t n, uint8_t* q, float* scales);
void dequantize_row_q8(const int8_t* q, const float* scales, int64_t n, float* out);
void dequantize_row_q4(const uint8_t* q, const float* scales, int64_t n, float* out);
// The same with one instruction set's version ("portable", "avx2", "avx512"), for tests; false where this CPU
// lacks it.
bool dequantize_row_q8_with(const char* isa, const int8_t* q, const float* scales, int64_t n, float* out);
bool dequantize_row_q4_with(const char* isa, const uint8_t* q, const float* scales, int64_t n, float* out);
bool quantize_row_q8_with(const char* isa, const float* x, int64_t n, int8_t* q, float* scales);
bool quantize_row_q4_with(const char* isa, const float* x, int64_t n, uint8_t* q, float* scales);

// "avx512", "avx2" or "portable": the instruction set the dispatcher chose.
const char* kernel_isa();

} // namespace glmv::ops
