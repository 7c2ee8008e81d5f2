// <immintrin.h> for the hand-written kernels (kernels.cpp, gemv.cpp). GCC 12 reports the intrinsics' own
// `_mm512_undefined_*` placeholders as uninitialised (a known false positive), so those two warnings are off in the
// files that include this header.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
