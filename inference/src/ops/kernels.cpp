// Hand-written SIMD because decode speed is bounded by how fast weights can be widened and multiplied: the compiler
// targets baseline x86-64 (SSE2) so that the binary runs everywhere, and only these functions use AVX2/AVX-512,
// chosen at run time.
#include "ops/kernels.h"
#include "ops/simd_intrinsics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace glmv::ops {

namespace {

inline float bf16_to_f32_bits(uint16_t v) {
    uint32_t u = uint32_t(v) << 16;
    float    f;
    std::memcpy(&f, &u, 4);
    return f;
}

// ---- portable ---------------------------------------------------------------------------------------------------

float dot_bf16_portable(const float* x, const uint16_t* w, int64_t n) {
    float acc[8] = {0};
    int64_t i    = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) acc[k] += x[i + k] * bf16_to_f32_bits(w[i + k]);
    float s = 0;
    for (int k = 0; k < 8; ++k) s += acc[k];
    for (; i < n; ++i) s += x[i] * bf16_to_f32_bits(w[i]);
    return s;
}

float dot_q8_portable(const float* x, const int8_t* q, const float* scales, int64_t n) {
    float s = 0;
    for (int64_t g = 0; g < n / kQuantGroup; ++g) {
        float a = 0;
        for (int64_t j = 0; j < kQuantGroup; ++j) a += x[g * kQuantGroup + j] * float(q[g * kQuantGroup + j]);
        s += a * scales[g];
    }
    return s;
}

float dot_q4_portable(const float* x, const uint8_t* q, const float* scales, int64_t n) {
    float s = 0;
    for (int64_t g = 0; g < n / kQuantGroup; ++g) {
        const uint8_t* b  = q + g * (kQuantGroup / 2);
        const float*   xg = x + g * kQuantGroup;
        float          a  = 0;
        for (int64_t j = 0; j < kQuantGroup / 2; ++j) {
            a += xg[j] * float(int(b[j] & 0xF) - 8);
            a += xg[j + 16] * float(int(b[j] >> 4) - 8);
        }
        s += a * scales[g];
    }
    return s;
}

void widen_portable(const uint16_t* w, int64_t n, float* out) {
    for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32_bits(w[i]);
}

// ---- AVX2 + FMA -------------------------------------------------------------------------------------------------

__attribute__((target("avx2,fma"))) float dot_bf16_avx2(const float* x, const uint16_t* w, int64_t n) {
    __m256  a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i  = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i w0 = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)(w + i))), 16);
        __m256i w1 = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)(w + i + 8))), 16);
        a0         = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_castsi256_ps(w0), a0);
        a1         = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_castsi256_ps(w1), a1);
    }
    float s = hsum256(_mm256_add_ps(a0, a1));
    for (; i < n; ++i) s += x[i] * bf16_to_f32_bits(w[i]);
    return s;
}

__attribute__((target("avx2,fma"))) float dot_q8_avx2(const float* x, const int8_t* q, const float* scales, int64_t n) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t g = 0; g < n / kQuantGroup; ++g) {
        const int8_t* b  = q + g * kQuantGroup;
        const float*  xg = x + g * kQuantGroup;
        __m256        a  = _mm256_setzero_ps();
        for (int k = 0; k < 4; ++k) {
            __m256 wv = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(b + 8 * k))));
            a         = _mm256_fmadd_ps(_mm256_loadu_ps(xg + 8 * k), wv, a);
        }
        acc = _mm256_fmadd_ps(a, _mm256_set1_ps(scales[g]), acc);
    }
    return hsum256(acc);
}

__attribute__((target("avx2,fma"))) float dot_q4_avx2(const float* x, const uint8_t* q, const float* scales, int64_t n) {
    __m256        acc   = _mm256_setzero_ps();
    const __m128i mask  = _mm_set1_epi8(0xF);
    const __m128i eight = _mm_set1_epi8(8);
    for (int64_t g = 0; g < n / kQuantGroup; ++g) {
        __m128i      bytes = _mm_loadu_si128((const __m128i*)(q + g * 16));
        __m128i      lo    = _mm_sub_epi8(_mm_and_si128(bytes, mask), eight);                    // weights 0..15
        __m128i      hi    = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), eight); // weights 16..31
        const float* xg    = x + g * kQuantGroup;
        __m256       a     = _mm256_mul_ps(_mm256_loadu_ps(xg), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)));
        a = _mm256_fmadd_ps(_mm256_loadu_ps(xg + 8), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), a);
        a = _mm256_fmadd_ps(_mm256_loadu_ps(xg + 16), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), a);
        a = _mm256_fmadd_ps(_mm256_loadu_ps(xg + 24), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), a);
        acc = _mm256_fmadd_ps(a, _mm256_set1_ps(scales[g]), acc);
    }
    return hsum256(acc);
}

__attribute__((target("avx2"))) void widen_avx2(const uint16_t* w, int64_t n, float* out) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_si256((__m256i*)(out + i),
                            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)(w + i))), 16));
    for (; i < n; ++i) out[i] = bf16_to_f32_bits(w[i]);
}

// Dequantisation widens q8/q4 weights to fp32 for the matrix-matrix path (prefill, which multiplies every weight by
// each prompt row); vector code keeps it a small part of a prompt's time on many cores.
void dequant_q8_portable(const int8_t* q, const float* scales, int64_t n, float* out) {
    for (int64_t g = 0; g < n / kQuantGroup; ++g)
        for (int64_t j = 0; j < kQuantGroup; ++j)
            out[g * kQuantGroup + j] = float(q[g * kQuantGroup + j]) * scales[g];
}

void dequant_q4_portable(const uint8_t* q, const float* scales, int64_t n, float* out) {
    for (int64_t g = 0; g < n / kQuantGroup; ++g)
        for (int64_t j = 0; j < 16; ++j) {
            const uint8_t b               = q[g * 16 + j];
            out[g * kQuantGroup + j]      = float(int(b & 0xF) - 8) * scales[g];
            out[g * kQuantGroup + j + 16] = float(int(b >> 4) - 8) * scales[g];
        }
}

__attribute__((target("avx2"))) void dequant_q8_avx2(const int8_t* q, const float* scales, int64_t n, float* out) {
    for (int64_t g = 0; g < n / kQuantGroup; ++g, q += kQuantGroup, out += kQuantGroup) {
        const __m256 s = _mm256_set1_ps(scales[g]);
        for (int k = 0; k < 4; ++k) {
            const __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(q + 8 * k)));
            _mm256_storeu_ps(out + 8 * k, _mm256_mul_ps(_mm256_cvtepi32_ps(v), s));
        }
    }
}

__attribute__((target("avx2"))) void dequant_q4_avx2(const uint8_t* q, const float* scales, int64_t n, float* out) {
    const __m256i low = _mm256_set1_epi32(0xF), eight = _mm256_set1_epi32(8);
    for (int64_t g = 0; g < n / kQuantGroup; ++g, q += 16, out += kQuantGroup) {
        const __m256 s = _mm256_set1_ps(scales[g]);
        for (int k = 0; k < 2; ++k) { // bytes 8k..8k+7: low nibbles are values 8k.., high nibbles 16 + 8k..
            const __m256i b  = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(q + 8 * k)));
            const __m256i lo = _mm256_sub_epi32(_mm256_and_si256(b, low), eight);
            const __m256i hi = _mm256_sub_epi32(_mm256_srli_epi32(b, 4), eight);
            _mm256_storeu_ps(out + 8 * k, _mm256_mul_ps(_mm256_cvtepi32_ps(lo), s));
            _mm256_storeu_ps(out + 16 + 8 * k, _mm256_mul_ps(_mm256_cvtepi32_ps(hi), s));
        }
    }
}

// ---- AVX-512 ----------------------------------------------------------------------------------------------------

__attribute__((target("avx512f,avx512bw"))) void dequant_q8_avx512(const int8_t* q, const float* scales, int64_t n,
                                                                   float* out) {
    for (int64_t g = 0; g < n / kQuantGroup; ++g, q += kQuantGroup, out += kQuantGroup) {
        const __m512 s = _mm512_set1_ps(scales[g]);
        for (int k = 0; k < 2; ++k) {
            const __m512i v = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(q + 16 * k)));
            _mm512_storeu_ps(out + 16 * k, _mm512_mul_ps(_mm512_cvtepi32_ps(v), s));
        }
    }
}

__attribute__((target("avx512f,avx512bw"))) void dequant_q4_avx512(const uint8_t* q, const float* scales, int64_t n,
                                                                   float* out) {
    const __m512i low = _mm512_set1_epi32(0xF), eight = _mm512_set1_epi32(8);
    for (int64_t g = 0; g < n / kQuantGroup; ++g, q += 16, out += kQuantGroup) {
        const __m512  s  = _mm512_set1_ps(scales[g]);
        const __m512i b  = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i*)q));
        const __m512i lo = _mm512_sub_epi32(_mm512_and_si512(b, low), eight);
        const __m512i hi = _mm512_sub_epi32(_mm512_srli_epi32(b, 4), eight);
        _mm512_storeu_ps(out, _mm512_mul_ps(_mm512_cvtepi32_ps(lo), s));
        _mm512_storeu_ps(out + 16, _mm512_mul_ps(_mm512_cvtepi32_ps(hi), s));
    }
}

__attribute__((target("avx512f,avx512bw"))) float dot_bf16_avx512(const float* x, const uint16_t* w, int64_t n) {
    __m512  a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t i  = 0;
    for (; i + 32 <= n; i += 32) {
        __m512i w0 = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(w + i))), 16);
        __m512i w1 = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(w + i + 16))), 16);
        a0         = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_castsi512_ps(w0), a0);
        a1         = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_castsi512_ps(w1), a1);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; i < n; ++i) s += x[i] * bf16_to_f32_bits(w[i]);
    return s;
}

__attribute__((target("avx512f,avx512bw"))) float dot_q8_avx512(const float* x, const int8_t* q, const float* scales,
                                                                int64_t n) {
    __m512 acc = _mm512_setzero_ps();
    for (int64_t g = 0; g < n / kQuantGroup; ++g) {
        const int8_t* b  = q + g * kQuantGroup;
        const float*  xg = x + g * kQuantGroup;
        __m512 w0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)b)));
        __m512 w1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(b + 16))));
        __m512 a  = _mm512_mul_ps(_mm512_loadu_ps(xg), w0);
        a         = _mm512_fmadd_ps(_mm512_loadu_ps(xg + 16), w1, a);
        acc       = _mm512_fmadd_ps(a, _mm512_set1_ps(scales[g]), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

__attribute__((target("avx512f,avx512bw"))) float dot_q4_avx512(const float* x, const uint8_t* q, const float* scales,
                                                                int64_t n) {
    __m512        acc   = _mm512_setzero_ps();
    const __m128i mask  = _mm_set1_epi8(0xF);
    const __m128i eight = _mm_set1_epi8(8);
    for (int64_t g = 0; g < n / kQuantGroup; ++g) {
        __m128i      bytes = _mm_loadu_si128((const __m128i*)(q + g * 16));
        __m128i      lo    = _mm_sub_epi8(_mm_and_si128(bytes, mask), eight);
        __m128i      hi    = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), eight);
        const float* xg    = x + g * kQuantGroup;
        __m512       a     = _mm512_mul_ps(_mm512_loadu_ps(xg), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo)));
        a   = _mm512_fmadd_ps(_mm512_loadu_ps(xg + 16), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi)), a);
        acc = _mm512_fmadd_ps(a, _mm512_set1_ps(scales[g]), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

__attribute__((target("avx512f,avx512bw"))) void widen_avx512(const uint16_t* w, int64_t n, float* out) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_si512((void*)(out + i),
                            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(w + i))), 16));
    for (; i < n; ++i) out[i] = bf16_to_f32_bits(w[i]);
}

// ---- q8 quantisation ---------------------------------------------------------------------------------------------
// Per group of 32: scale amax/127, levels round(x / scale) rounded half away from zero (std::lround), clamped to
// ±127. The SIMD versions give the same bytes and scales: they round exactly as lround does (truncate, then step
// away from zero where the cut-off part is at least one half; r - trunc(r) is exact in floating point), where the
// usual add-one-half-and-truncate would round 0.49999997 up.

void quantize_q8_portable(const float* x, int64_t n, int8_t* q, float* scales) {
    for (int64_t g = 0; g < n / kQuantGroup; ++g) {
        float amax = 0;
        for (int64_t j = 0; j < kQuantGroup; ++j)
            amax = std::max(amax, std::fabs(x[g * kQuantGroup + j]));
        const float s = amax / 127.f, inv = s > 0 ? 1.f / s : 0.f;
        scales[g] = s;
        for (int64_t j = 0; j < kQuantGroup; ++j)
            q[g * kQuantGroup + j] = int8_t(std::clamp(std::lround(x[g * kQuantGroup + j] * inv), -127L, 127L));
    }
}

__attribute__((target("avx2,fma"))) void quantize_q8_avx2(const float* x, int64_t n, int8_t* q, float* scales) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF)), sign = _mm256_set1_ps(-0.f);
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.f);
    const __m256 lo = _mm256_set1_ps(-127.f), hi = _mm256_set1_ps(127.f);
    for (int64_t g = 0; g < n / kQuantGroup; ++g) {
        const float* xg = x + g * kQuantGroup;
        __m256       m  = _mm256_setzero_ps();
        for (int k = 0; k < 4; ++k)
            m = _mm256_max_ps(m, _mm256_and_ps(_mm256_loadu_ps(xg + 8 * k), abs_mask));
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, m);
        float amax = 0;
        for (float v : lanes)
            amax = std::max(amax, v);
        const float s = amax / 127.f, inv = s > 0 ? 1.f / s : 0.f;
        scales[g] = s;
        for (int k = 0; k < 4; ++k) {
            const __m256  r    = _mm256_mul_ps(_mm256_loadu_ps(xg + 8 * k), _mm256_set1_ps(inv));
            const __m256  t    = _mm256_round_ps(r, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m256  away = _mm256_cmp_ps(_mm256_and_ps(_mm256_sub_ps(r, t), abs_mask), half, _CMP_GE_OQ);
            const __m256  step = _mm256_and_ps(away, _mm256_or_ps(_mm256_and_ps(r, sign), one)); // ±1 or 0
            const __m256  v    = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(t, step), lo), hi);
            const __m256i i32  = _mm256_cvttps_epi32(v);
            const __m128i i16  = _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
            _mm_storel_epi64(reinterpret_cast<__m128i*>(q + g * kQuantGroup + 8 * k), _mm_packs_epi16(i16, i16));
        }
    }
}

__attribute__((target("avx512f"))) inline __m512 abs_avx512(__m512 v) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7FFFFFFF)));
}

__attribute__((target("avx512f,avx512bw"))) void quantize_q8_avx512(const float* x, int64_t n, int8_t* q,
                                                                    float* scales) {
    const __m512i sign = _mm512_set1_epi32(int32_t(0x80000000u));
    const __m512i one  = _mm512_castps_si512(_mm512_set1_ps(1.f));
    const __m512  half = _mm512_set1_ps(0.5f), lo = _mm512_set1_ps(-127.f), hi = _mm512_set1_ps(127.f);
    for (int64_t g = 0; g < n / kQuantGroup; ++g) {
        const float* xg = x + g * kQuantGroup;
        const __m512 a = _mm512_loadu_ps(xg), b = _mm512_loadu_ps(xg + 16);
        const float  amax = _mm512_reduce_max_ps(_mm512_max_ps(abs_avx512(a), abs_avx512(b)));
        const float  s = amax / 127.f, inv = s > 0 ? 1.f / s : 0.f;
        scales[g] = s;
        for (int h = 0; h < 2; ++h) {
            const __m512    r    = _mm512_mul_ps(h ? b : a, _mm512_set1_ps(inv));
            const __m512    t    = _mm512_roundscale_ps(r, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __mmask16 away = _mm512_cmp_ps_mask(abs_avx512(_mm512_sub_ps(r, t)), half, _CMP_GE_OQ);
            const __m512    step =
                _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(r), sign), one));
            const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mask_add_ps(t, away, t, step), lo), hi);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(q + g * kQuantGroup + 16 * h),
                             _mm512_cvtsepi32_epi8(_mm512_cvttps_epi32(v)));
        }
    }
}

// ---- q4 scale search ---------------------------------------------------------------------------------------------
// Symmetric 16 levels (-8..7). The scale is chosen per group among twelve candidates around amax/8 (both signs, so
// the extreme value may use the -8 level) by least squared error: on Gaussian-like weights this roughly halves the
// error of the plain amax/8 rule. It runs over every weight of the model when q4 is chosen at load, twelve trials
// per weight, so the SIMD versions put the twelve candidates in the lanes of a vector: each lane does the portable
// code's arithmetic for its candidate in the same order (this file is compiled with -ffp-contract=off, so no
// multiply and add are fused), and every instruction set picks the same scale, bit for bit.

constexpr int kQ4Candidates = 12;

// Candidate c is factor kFactors[c / 2] with sign + for even c, - for odd c. Lanes 12..15 repeat candidate 0.
void q4_candidates(float amax, float* s, float* inv) {
    static constexpr float kFactors[6] = {0.70f, 0.78f, 0.85f, 0.92f, 1.0f, 1.07f};
    for (int c = 0; c < 16; ++c) {
        const int   k    = c < kQ4Candidates ? c : 0;
        const float sign = k % 2 == 0 ? 1.f : -1.f;
        s[c]             = sign * amax * kFactors[k / 2] / 7.5f;
        inv[c]           = 1.f / s[c];
    }
}

// The first candidate with the smallest error (0 if none is finite).
float q4_pick(const float* err, const float* s) {
    float best_s = 0, best_err = INFINITY;
    for (int c = 0; c < kQ4Candidates; ++c)
        if (err[c] < best_err) best_err = err[c], best_s = s[c];
    return best_s;
}

// Round half away from zero, as std::lround, but inline (no libm call).
inline int q4_level(float v, float inv) {
    const float r = std::clamp(v * inv, -9.f, 8.f);
    return std::clamp(int(r + std::copysign(0.5f, r)), -8, 7);
}

float q4_scale_portable(const float* xg, float amax) {
    float s[16], inv[16], err[16];
    q4_candidates(amax, s, inv);
    for (int c = 0; c < kQ4Candidates; ++c) {
        float e = 0;
        for (int64_t j = 0; j < kQuantGroup; ++j) {
            const float d = xg[j] - float(q4_level(xg[j], inv[c])) * s[c];
            e += d * d;
        }
        err[c] = e;
    }
    return q4_pick(err, s);
}

__attribute__((target("avx2,fma"))) float q4_scale_avx2(const float* xg, float amax) {
    alignas(32) float s[16], inv[16], err[16];
    q4_candidates(amax, s, inv);
    const __m256  lo = _mm256_set1_ps(-9.f), hi = _mm256_set1_ps(8.f), half = _mm256_set1_ps(0.5f);
    const __m256  sign = _mm256_set1_ps(-0.f);
    const __m256i qlo = _mm256_set1_epi32(-8), qhi = _mm256_set1_epi32(7);
    for (int h = 0; h < 2; ++h) { // candidates 0..7, then 8..11 (and four repeats)
        const __m256 vs = _mm256_load_ps(s + 8 * h), vinv = _mm256_load_ps(inv + 8 * h);
        __m256       e = _mm256_setzero_ps();
        for (int64_t j = 0; j < kQuantGroup; ++j) {
            const __m256  v = _mm256_set1_ps(xg[j]);
            const __m256  r = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(v, vinv), lo), hi);
            const __m256i q = _mm256_min_epi32(
                _mm256_max_epi32(_mm256_cvttps_epi32(_mm256_add_ps(r, _mm256_or_ps(_mm256_and_ps(r, sign), half))),
                                 qlo),
                qhi);
            const __m256 d = _mm256_sub_ps(v, _mm256_mul_ps(_mm256_cvtepi32_ps(q), vs));
            e              = _mm256_add_ps(e, _mm256_mul_ps(d, d));
        }
        _mm256_store_ps(err + 8 * h, e);
    }
    return q4_pick(err, s);
}

__attribute__((target("avx512f"))) float q4_scale_avx512(const float* xg, float amax) {
    alignas(64) float s[16], inv[16], err[16];
    q4_candidates(amax, s, inv);
    const __m512  lo = _mm512_set1_ps(-9.f), hi = _mm512_set1_ps(8.f);
    const __m512i sign = _mm512_set1_epi32(int32_t(0x80000000u)), half = _mm512_castps_si512(_mm512_set1_ps(0.5f));
    const __m512i qlo = _mm512_set1_epi32(-8), qhi = _mm512_set1_epi32(7);
    const __m512  vs = _mm512_load_ps(s), vinv = _mm512_load_ps(inv);
    __m512        e = _mm512_setzero_ps();
    for (int64_t j = 0; j < kQuantGroup; ++j) {
        const __m512  v  = _mm512_set1_ps(xg[j]);
        const __m512  r  = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v, vinv), lo), hi);
        const __m512  hs = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(r), sign), half));
        const __m512i q  = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvttps_epi32(_mm512_add_ps(r, hs)), qlo), qhi);
        const __m512  d  = _mm512_sub_ps(v, _mm512_mul_ps(_mm512_cvtepi32_ps(q), vs));
        e                = _mm512_add_ps(e, _mm512_mul_ps(d, d));
    }
    _mm512_store_ps(err, e);
    return q4_pick(err, s);
}

// ---- dispatch ---------------------------------------------------------------------------------------------------

struct Table {
    float (*bf16)(const float*, const uint16_t*, int64_t);
    float (*q8)(const float*, const int8_t*, const float*, int64_t);
    float (*q4)(const float*, const uint8_t*, const float*, int64_t);
    void (*widen)(const uint16_t*, int64_t, float*);
    void (*dequant_q8)(const int8_t*, const float*, int64_t, float*);
    void (*dequant_q4)(const uint8_t*, const float*, int64_t, float*);
    float (*q4_scale)(const float* group, float amax);
    void (*quantize_q8)(const float*, int64_t, int8_t*, float*);
    const char* isa;
};

bool isa_available(const std::string& isa) {
    __builtin_cpu_init();
    if (isa == "avx512") return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    if (isa == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return isa == "portable";
}

// The functions of one instruction set ("avx512", "avx2", anything else: portable).
Table table_for(const std::string& isa) {
    if (isa == "avx512")
        return {dot_bf16_avx512,   dot_q8_avx512,   dot_q4_avx512,      widen_avx512, dequant_q8_avx512,
                dequant_q4_avx512, q4_scale_avx512, quantize_q8_avx512, "avx512"};
    if (isa == "avx2")
        return {dot_bf16_avx2,   dot_q8_avx2,   dot_q4_avx2,      widen_avx2, dequant_q8_avx2,
                dequant_q4_avx2, q4_scale_avx2, quantize_q8_avx2, "avx2"};
    return {dot_bf16_portable,   dot_q8_portable,   dot_q4_portable,      widen_portable, dequant_q8_portable,
            dequant_q4_portable, q4_scale_portable, quantize_q8_portable, "portable"};
}

const Table& table() {
    static const Table t = [] {
        const std::string best = isa_available("avx512") ? "avx512" : isa_available("avx2") ? "avx2" : "portable";
        // GLMV_KERNELS=portable|avx2 forces a lower tier (tests and benchmarks compare them).
        const char* env = std::getenv("GLMV_KERNELS");
        if (env && std::string(env) == "portable") return table_for("portable");
        if (env && std::string(env) == "avx2" && best == "avx512") return table_for("avx2");
        return table_for(best);
    }();
    return t;
}

// A row of n values (n a multiple of 32), group by group: each group's scale (by `search`, unless all are zero) and
// its 16 bytes of nibbles.
void quantize_q4_row(const float* x, int64_t n, float (*search)(const float*, float), uint8_t* q, float* scales) {
    for (int64_t g = 0; g < n / kQuantGroup; ++g) {
        const float* xg   = x + g * kQuantGroup;
        float        amax = 0;
        for (int64_t j = 0; j < kQuantGroup; ++j)
            amax = std::max(amax, std::fabs(xg[j]));
        const float s   = amax > 0 ? search(xg, amax) : 0.f;
        const float inv = s != 0 ? 1.f / s : 0.f;
        scales[g]       = s;
        for (int64_t j = 0; j < 16; ++j)
            q[g * 16 + j] = uint8_t((q4_level(xg[j], inv) + 8) | (q4_level(xg[j + 16], inv) + 8) << 4);
    }
}

} // namespace

float dot_bf16(const float* x, const uint16_t* w, int64_t n) { return table().bf16(x, w, n); }
float dot_q8(const float* x, const int8_t* q, const float* s, int64_t n) { return table().q8(x, q, s, n); }
float dot_q4(const float* x, const uint8_t* q, const float* s, int64_t n) { return table().q4(x, q, s, n); }
void  widen_bf16_row(const uint16_t* w, int64_t n, float* out) { table().widen(w, n, out); }
const char* kernel_isa() { return table().isa; }

float reference_dot_bf16(const float* x, const uint16_t* w, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += double(x[i]) * bf16_to_f32_bits(w[i]);
    return float(s);
}
float reference_dot_q8(const float* x, const int8_t* q, const float* scales, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += double(x[i]) * q[i] * scales[i / kQuantGroup];
    return float(s);
}
float reference_dot_q4(const float* x, const uint8_t* q, const float* scales, int64_t n) {
    std::vector<float> w(static_cast<size_t>(n));
    dequantize_row_q4(q, scales, n, w.data());
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += double(x[i]) * w[size_t(i)];
    return float(s);
}

void quantize_row_q8(const float* x, int64_t n, int8_t* q, float* scales) {
    table().quantize_q8(x, n, q, scales);
}

bool quantize_row_q8_with(const char* isa, const float* x, int64_t n, int8_t* q, float* scales) {
    if (!isa_available(isa)) return false;
    table_for(isa).quantize_q8(x, n, q, scales);
    return true;
}

void quantize_row_q4(const float* x, int64_t n, uint8_t* q, float* scales) {
    quantize_q4_row(x, n, table().q4_scale, q, scales);
}

bool quantize_row_q4_with(const char* isa, const float* x, int64_t n, uint8_t* q, float* scales) {
    if (!isa_available(isa)) return false;
    quantize_q4_row(x, n, table_for(isa).q4_scale, q, scales);
    return true;
}

void dequantize_row_q8(const int8_t* q, const float* scales, int64_t n, float* out) {
    table().dequant_q8(q, scales, n, out);
}
void dequantize_row_q4(const uint8_t* q, const float* scales, int64_t n, float* out) {
    table().dequant_q4(q, scales, n, out);
}

bool dequantize_row_q8_with(const char* isa, const int8_t* q, const float* scales, int64_t n, float* out) {
    if (!isa_available(isa)) return false;
    table_for(isa).dequant_q8(q, scales, n, out);
    return true;
}

bool dequantize_row_q4_with(const char* isa, const uint8_t* q, const float* scales, int64_t n, float* out) {
    if (!isa_available(isa)) return false;
    table_for(isa).dequant_q4(q, scales, n, out);
    return true;
}

} // namespace glmv::ops
