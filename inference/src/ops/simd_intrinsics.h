// <immintrin.h> for the hand-written kernels (kernels.cpp, gemv.cpp). GCC 12 reports the intrinsics' own
// `_mm512_undefined_*` placeholders as uninitialised (a known false positive), so those two warnings are off in the
// files that include this header.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

// The sum of a 256-bit vector's eight floats (the AVX2 kernels of kernels.cpp and gemv.cpp).
__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_hadd_ps(lo, lo);
    lo = _mm_hadd_ps(lo, lo);
    return _mm_cvtss_f32(lo);
}
