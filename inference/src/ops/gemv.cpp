// Hand-written because decode speed is how fast these loops stream the weights: the compiler targets baseline
// x86-64, and only these functions use AVX-512 (with the BF16 and VNNI extensions where the CPU has them), chosen
// at run time. CPUs without AVX-512 use the per-row dot products of kernels.cpp (AVX2 or portable).
#include "ops/gemv.h"

#include "glmv/inference/safetensors.h"
#include "ops/kernels.h"
#include "ops/quant_blocks.h"
#include "ops/simd_intrinsics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

namespace glmv::ops {

namespace {

// Each weight row is asked for 1 KB ahead of its use. A 4-row block reads four streams of 2-8 KB rows, and the
// hardware prefetchers restart at every 4 KB page and every new row: on the 16-core host software prefetch at 1 KB
// raised M4 decode from 0.99 to 1.10 of the roofline (bf16) and from 0.89 to 1.11 (q8) at context 512, and q4 at
// context 8192 from 0.61 to 0.64 (0, 512, 1024 and 2048 bytes compared; docs/performance.md).
constexpr int64_t kPrefetchBytes = 1024;

// Where stream k of an R-row block asks for its weights, kPrefetchBytes ahead of byte `at` of its row. Rows are
// contiguous, so near its row's end a stream asks for its row of the next block (row k + R). Asking past the row's
// end instead landed in row k + 1, which this block is already reading, so the first kPrefetchBytes of every row
// were read before anything had asked for them: half of each 2 KB q4 row at the 9B's width of 4096. On the 16-core
// host this raised the 151552 x 4096 product (from memory) from 77 to 105 GB/s in q4 and from 90 to 111 in q8, and
// M4 decode by 39 % (q4), 25 % (q8) and 11 % (bf16) at context 512 (docs/performance.md). Requests past the block's
// last row (another thread's, or past the matrix) are harmless: prefetches never fault. (bf16 rows; q8/q4 weights
// lie in blocks of four rows, one stream, and their kernels prefetch along it: block_prefetch_bytes.)
template <int R>
inline const char* ahead(const void* block, int64_t row_bytes, int k, int64_t at, int64_t distance = kPrefetchBytes) {
    const char*   base = static_cast<const char*>(block);
    const int64_t t    = at + distance;
    if (t < row_bytes) return base + k * row_bytes + t;
    return base + (k + R) * row_bytes + (t - row_bytes);
}

// Groups of a row of n weights, padded to whole chunks of four (quant_blocks.h).
int64_t padded_groups(int64_t n) { return quant_chunks(n) * kChunkGroups; }

enum class Tier { portable_or_avx2, avx2_blocks, avx2_int8, avx512, avx512_bf16, avx512_vnni };

struct Features {
    bool avx2 = false, avx512 = false, bf16 = false, vnni = false;
};

// Builds on kernels.cpp's choice (cpuid and the GLMV_KERNELS override are read there): the extensions are only
// used on top of AVX-512, and GLMV_KERNELS=avx512 turns them off to compare.
const Features& features() {
    static const Features f = [] {
        Features r;
        r.avx512 = std::string(kernel_isa()) == "avx512";
        r.avx2          = std::string(kernel_isa()) == "avx2";
        const char* env = std::getenv("GLMV_KERNELS");
        if (!r.avx512 || (env && std::string(env) == "avx512")) return r;
        __builtin_cpu_init();
        r.bf16 = __builtin_cpu_supports("avx512bf16");
        r.vnni = __builtin_cpu_supports("avx512vnni");
        return r;
    }();
    return f;
}

Tier tier(GemvWeights kind) {
    const Features& f = features();
    if (!f.avx512) {
        if (!f.avx2) return Tier::portable_or_avx2;
        return kind == GemvWeights::bf16 ? Tier::avx2_blocks : Tier::avx2_int8;
    }
    if (kind == GemvWeights::bf16) return f.bf16 ? Tier::avx512_bf16 : Tier::avx512;
    return f.vnni ? Tier::avx512_vnni : Tier::portable_or_avx2;
}

// ---- bf16 weights -----------------------------------------------------------------------------------------------

// Four rows at a time, two accumulators each (x's high and low bf16 halves), so eight independent dot-product
// chains hide the instruction latency and four weight streams keep the memory system busy.
template <int R>
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void bf16_block_bf16ext(const GemvVector& v, const uint16_t* w,
                                                                               float* y) {
    const int64_t n = v.n, n32 = n / 32 * 32;
    __m512        ah[R], al[R];
    for (int k = 0; k < R; ++k) ah[k] = al[k] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n32; i += 32) {
        const __m512bh xh = (__m512bh)_mm512_loadu_si512(v.hi.data() + i);
        const __m512bh xl = (__m512bh)_mm512_loadu_si512(v.lo.data() + i);
        for (int k = 0; k < R; ++k) {
            _mm_prefetch(ahead<R>(w, n * 2, k, i * 2), _MM_HINT_T0);
            const __m512bh wv = (__m512bh)_mm512_loadu_si512(w + k * n + i);
            ah[k]             = _mm512_dpbf16_ps(ah[k], wv, xh);
            al[k]             = _mm512_dpbf16_ps(al[k], wv, xl);
        }
    }
    for (int k = 0; k < R; ++k) {
        float s = _mm512_reduce_add_ps(_mm512_add_ps(ah[k], al[k]));
        for (int64_t i = n32; i < n; ++i) s += v.x[i] * bf16_to_f32(w[k * n + i]);
        y[k] = s;
    }
}

// Without the BF16 extension: each 32-bit lane of weights holds w[2j] (low half) and w[2j+1] (high half); a shift
// and a mask turn them into floats, multiplied by x's even and odd elements (one instruction per 16 weights
// instead of a widening shuffle plus a shift).
template <int R>
__attribute__((target("avx512f,avx512bw"))) void bf16_block_avx512(const GemvVector& v, const uint16_t* w, float* y) {
    const int64_t n = v.n, n32 = n / 32 * 32;
    const __m512i high = _mm512_set1_epi32(int32_t(0xFFFF0000u));
    __m512        ae[R], ao[R];
    for (int k = 0; k < R; ++k) ae[k] = ao[k] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n32; i += 32) {
        const __m512 xe = _mm512_loadu_ps(v.even.data() + i / 2);
        const __m512 xo = _mm512_loadu_ps(v.odd.data() + i / 2);
        for (int k = 0; k < R; ++k) {
            const __m512i wv = _mm512_loadu_si512(w + k * n + i);
            ae[k]            = _mm512_fmadd_ps(xe, _mm512_castsi512_ps(_mm512_slli_epi32(wv, 16)), ae[k]);
            ao[k]            = _mm512_fmadd_ps(xo, _mm512_castsi512_ps(_mm512_and_si512(wv, high)), ao[k]);
        }
    }
    for (int k = 0; k < R; ++k) {
        float s = _mm512_reduce_add_ps(_mm512_add_ps(ae[k], ao[k]));
        for (int64_t i = n32; i < n; ++i) s += v.x[i] * bf16_to_f32(w[k * n + i]);
        y[k] = s;
    }
}

// ---- q8/q4 weights in blocks of four rows (quant_blocks.h) -------------------------------------------------------

// How far ahead of its reads a block kernel asks for its weights: the blocks are one sequential stream per thread
// (weights and scales together), read as far ahead as the row-major kernels' eight streams together were.
// GLMV_BLOCK_PREFETCH_BYTES overrides it (a measurement switch). 2-core Zen 5 VM, 27392 x 4096 from memory, medians
// of 12 alternating runs: q4 1 KB 41.5, 2 KB 42.9, 4 KB 44.0, 8 KB 45.1 GB/s (row-major kernel 37.9).
int64_t block_prefetch_bytes() {
    static const int64_t d = [] {
        const char* env = std::getenv("GLMV_BLOCK_PREFETCH_BYTES");
        return env ? std::max<int64_t>(0, std::atoll(env)) : int64_t(4096);
    }();
    return d;
}

template <int64_t Bytes> inline void prefetch_chunk(const uint8_t* chunk, int64_t distance) {
    for (int64_t l = 0; l < Bytes; l += 64)
        _mm_prefetch(reinterpret_cast<const char*>(chunk + distance + l), _MM_HINT_T0);
}

// The chunk layout of quant_blocks.h that the kernels below are written for: four rows of 64 (q4) or 128 (q8) bytes,
// then sixteen scales.
constexpr int64_t kQ4Chunk = quant_chunk_bytes(Quant::q4), kQ8Chunk = quant_chunk_bytes(Quant::q8);
constexpr int64_t kQ4Scales = quant_chunk_scales_offset(Quant::q4), kQ8Scales = quant_chunk_scales_offset(Quant::q8);
static_assert(kQ4Scales == 4 * 64 && kQ8Scales == 4 * 128 && kQ4Chunk == kQ4Scales + 64 && kQ8Chunk == kQ8Scales + 64);

// ---- q8, AVX512-VNNI ----------------------------------------------------------------------------------------------

// vpdpbusd multiplies unsigned by signed bytes, so x goes in as q + 128 and the surplus 128·Σw is taken off with a
// second vpdpbusd against ones. 64 weights (two groups) per step; each group's 8 lanes are scaled by
// w_scale·x_scale before joining the fp32 accumulator.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void q8_block_vnni(const GemvVector& v, const uint8_t* block,
                                                                          int64_t chunks, int64_t distance, float* y) {
    const __m512i ones = _mm512_set1_epi8(1);
    // Lanes 0-7 take scale 4k + 2h of the chunk's sixteen (row k, group 2h of the 64-weight half h), lanes 8-15 the next.
    __m512i pick[4][2];
    for (int k = 0; k < 4; ++k)
        for (int h = 0; h < 2; ++h)
            pick[k][h] = _mm512_set_epi32(4 * k + 2 * h + 1, 4 * k + 2 * h + 1, 4 * k + 2 * h + 1, 4 * k + 2 * h + 1,
                                          4 * k + 2 * h + 1, 4 * k + 2 * h + 1, 4 * k + 2 * h + 1, 4 * k + 2 * h + 1,
                                          4 * k + 2 * h, 4 * k + 2 * h, 4 * k + 2 * h, 4 * k + 2 * h, 4 * k + 2 * h,
                                          4 * k + 2 * h, 4 * k + 2 * h, 4 * k + 2 * h);
    __m512 acc[4];
    for (int k = 0; k < 4; ++k) acc[k] = _mm512_setzero_ps();
    for (int64_t c = 0; c < chunks; ++c) {
        const uint8_t* s = block + c * kQ8Chunk;
        prefetch_chunk<kQ8Chunk>(s, distance);
        const __m512 sv = _mm512_loadu_ps(s + kQ8Scales);
        for (int h = 0; h < 2; ++h) {
            const __m512i xu = _mm512_loadu_si512(v.q_offset.data() + c * 128 + h * 64);
            const __m512  xs = _mm512_loadu_ps(v.lane_scale.data() + c * 32 + h * 16);
            for (int k = 0; k < 4; ++k) {
                const __m512i wv = _mm512_loadu_si512(s + k * 128 + h * 64);
                const __m512i d  = _mm512_dpbusd_epi32(_mm512_setzero_si512(), xu, wv);
                const __m512i sw = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, wv);
                const __m512  f  = _mm512_cvtepi32_ps(_mm512_sub_epi32(d, _mm512_slli_epi32(sw, 7)));
                acc[k]           = _mm512_fmadd_ps(f, _mm512_mul_ps(_mm512_permutexvar_ps(pick[k][h], sv), xs), acc[k]);
            }
        }
    }
    for (int k = 0; k < 4; ++k) y[k] = _mm512_reduce_add_ps(acc[k]);
}

// ---- q4, AVX512-VNNI ----------------------------------------------------------------------------------------------

// The nibbles are stored as value + 8 (0..15), already the unsigned operand vpdpbusd wants; the surplus 8·Σx of
// each lane (q4_bias, prepared once per vector) comes off in the integers, exactly. 128 weights (four groups, 64
// bytes) per row and chunk.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void q4_block_vnni(const GemvVector& v, const uint8_t* block,
                                                                          int64_t chunks, int64_t distance, float* y) {
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512i       pick[4]; // row k: lanes 4j..4j+3 take scale 4k + j of the chunk's sixteen
    for (int k = 0; k < 4; ++k)
        pick[k] = _mm512_set_epi32(4 * k + 3, 4 * k + 3, 4 * k + 3, 4 * k + 3, 4 * k + 2, 4 * k + 2, 4 * k + 2, 4 * k + 2,
                                   4 * k + 1, 4 * k + 1, 4 * k + 1, 4 * k + 1, 4 * k, 4 * k, 4 * k, 4 * k);
    __m512 acc[4];
    for (int k = 0; k < 4; ++k) acc[k] = _mm512_setzero_ps();
    for (int64_t c = 0; c < chunks; ++c) {
        const uint8_t* s = block + c * kQ4Chunk;
        prefetch_chunk<kQ4Chunk>(s, distance);
        const __m512i xlo  = _mm512_loadu_si512(v.q.data() + c * 128);
        const __m512i xhi  = _mm512_loadu_si512(v.q.data() + c * 128 + 64);
        const __m512i bias = _mm512_loadu_si512(v.q4_bias.data() + c * 16);
        const __m512  xs   = _mm512_loadu_ps(v.lane_scale.data() + c * 16);
        const __m512  sv   = _mm512_loadu_ps(s + kQ4Scales);
        for (int k = 0; k < 4; ++k) {
            const __m512i wv = _mm512_loadu_si512(s + k * 64);
            __m512i       d  = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(wv, low), xlo);
            d                = _mm512_dpbusd_epi32(d, _mm512_and_si512(_mm512_srli_epi16(wv, 4), low), xhi);
            const __m512 f   = _mm512_cvtepi32_ps(_mm512_sub_epi32(d, bias));
            acc[k]           = _mm512_fmadd_ps(f, _mm512_mul_ps(_mm512_permutexvar_ps(pick[k], sv), xs), acc[k]);
        }
    }
    for (int k = 0; k < 4; ++k) y[k] = _mm512_reduce_add_ps(acc[k]);
}

// ---- AVX2, bf16 -------------------------------------------------------------------------------------------------
// The AVX-512 even/odd scheme (bf16_block_avx512) in 256-bit vectors: four rows share each load of x, and the rows
// are prefetched. The one-row fp32 kernel (dot_bf16) it replaces streamed 34 GB/s on the VM with
// GLMV_KERNELS=avx2, 0.70 of the probe.
template <int R>
__attribute__((target("avx2,fma"))) void bf16_block_avx2(const GemvVector& v, const uint16_t* w, float* y) {
    const int64_t n = v.n, n16 = n / 16 * 16;
    const __m256i high = _mm256_set1_epi32(int32_t(0xFFFF0000u));
    __m256        ae[R], ao[R];
    for (int k = 0; k < R; ++k)
        ae[k] = ao[k] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n16; i += 16) {
        const __m256 xe = _mm256_loadu_ps(v.even.data() + i / 2);
        const __m256 xo = _mm256_loadu_ps(v.odd.data() + i / 2);
        for (int k = 0; k < R; ++k) {
            _mm_prefetch(ahead<R>(w, n * 2, k, i * 2), _MM_HINT_T0);
            const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + k * n + i));
            ae[k]            = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(wv, 16)), xe, ae[k]);
            ao[k]            = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(wv, high)), xo, ao[k]);
        }
    }
    for (int k = 0; k < R; ++k) {
        float s = hsum256(_mm256_add_ps(ae[k], ao[k]));
        for (int64_t i = n16; i < n; ++i)
            s += v.x[i] * bf16_to_f32(w[k * n + i]);
        y[k] = s;
    }
}

// ---- AVX2, integer q4 ----------------------------------------------------------------------------------------------
// CPUs without AVX-512 (most desktop Intel parts, AMD before Zen 4) ran q4 products as fp32 dot products of widened
// nibbles, one row at a time: 21 GB/s on the VM with GLMV_KERNELS=avx2, compute-bound, against 44 for the VNNI kernel.
// Here x is quantised to int8 per group as for VNNI, and vpmaddubsw multiplies the unsigned nibbles (stored as
// value + 8) by the signed x bytes: a pair of products is at most 2·15·127, and the low- and high-nibble pairs
// together 7620, inside int16; vpmaddwd against ones sums them into int32 lanes. A 32-byte load holds groups g and
// g + 1 (half h of a row's 64 bytes in a chunk: groups 4c + 2h and 4c + 2h + 1): its low nibbles are the first 16
// weights of each, its high nibbles their last 16, so x is laid out per pair of groups to match (gemv_prepare), and
// the + 8 comes off per lane as 8·Σ of the lane's x bytes (v.q4_bias).
__attribute__((target("avx2,fma"))) void q4_block_avx2(const GemvVector& v, const uint8_t* block, int64_t chunks,
                                                       int64_t distance, float* y) {
    const __m256i low   = _mm256_set1_epi8(0x0F);
    const __m256i ones  = _mm256_set1_epi16(1);
    const __m256i split = _mm256_set_epi32(1, 1, 1, 1, 0, 0, 0, 0); // lanes 0-3: group g, 4-7: group g + 1
    __m256        acc[4];
    for (int k = 0; k < 4; ++k)
        acc[k] = _mm256_setzero_ps();
    for (int64_t c = 0; c < chunks; ++c) {
        const uint8_t* s = block + c * kQ4Chunk;
        prefetch_chunk<kQ4Chunk>(s, distance);
        const float* sc = reinterpret_cast<const float*>(s + kQ4Scales);
        for (int h = 0; h < 2; ++h) {
            const int64_t p    = 2 * c + h;
            const __m256i xlo  = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v.q.data() + p * 64));
            const __m256i xhi  = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v.q.data() + p * 64 + 32));
            const __m256i bias = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v.q4_bias.data() + p * 8));
            const __m256  xs   = _mm256_loadu_ps(v.lane_scale.data() + p * 8);
            for (int k = 0; k < 4; ++k) {
                const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + k * 64 + h * 32));
                const __m256i lo = _mm256_and_si256(wv, low);
                const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(wv, 4), low);
                const __m256i pr = _mm256_add_epi16(_mm256_maddubs_epi16(lo, xlo), _mm256_maddubs_epi16(hi, xhi));
                const __m256i d  = _mm256_sub_epi32(_mm256_madd_epi16(pr, ones), bias);
                const __m128  w2 = _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 4 * k + 2 * h)));
                const __m256  ws = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(w2), split);
                acc[k]           = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_mul_ps(ws, xs), acc[k]);
            }
        }
    }
    for (int k = 0; k < 4; ++k)
        y[k] = hsum256(acc[k]);
}

// q8 on the same tier: x quantised to int8 per group as for q4; vpmaddubsw needs one unsigned operand, so |w| meets x
// with w's sign (vpsignb): products of at most 127·127, pairs within int16 (weights are quantised to ±127, never
// −128). One 32-byte load is one group. The fp32 kernel it replaces (dot_q8) computed 32 conversions and 4 FMAs per
// group, one row at a time.
__attribute__((target("avx2,fma"))) void q8_block_avx2(const GemvVector& v, const uint8_t* block, int64_t chunks,
                                                       int64_t distance, float* y) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256        acc[4];
    for (int k = 0; k < 4; ++k)
        acc[k] = _mm256_setzero_ps();
    for (int64_t c = 0; c < chunks; ++c) {
        const uint8_t* s = block + c * kQ8Chunk;
        prefetch_chunk<kQ8Chunk>(s, distance);
        const float* sc = reinterpret_cast<const float*>(s + kQ8Scales);
        for (int j = 0; j < 4; ++j) {
            const int64_t g  = 4 * c + j;
            const __m256i x  = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v.q.data() + g * kQuantGroup));
            const float   xs = v.scale[size_t(g)];
            for (int k = 0; k < 4; ++k) {
                const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + k * 128 + j * 32));
                const __m256i pr = _mm256_maddubs_epi16(_mm256_sign_epi8(wv, wv), _mm256_sign_epi8(x, wv));
                const __m256  d  = _mm256_cvtepi32_ps(_mm256_madd_epi16(pr, ones));
                acc[k]           = _mm256_fmadd_ps(d, _mm256_set1_ps(sc[4 * k + j] * xs), acc[k]);
            }
        }
    }
    for (int k = 0; k < 4; ++k)
        y[k] = hsum256(acc[k]);
}

// Portable (and AVX-512 without VNNI): the per-row dot products of kernels.cpp over each row's piece of a chunk.
void quant_block_rows(const GemvVector& v, const uint8_t* block, int64_t chunks, float* y) {
    const bool    q8  = v.kind == GemvWeights::q8;
    const Quant   q   = q8 ? Quant::q8 : Quant::q4;
    const int64_t rcb = quant_row_chunk_bytes(q), cb = quant_chunk_bytes(q), G = v.n / kQuantGroup;
    for (int k = 0; k < 4; ++k) {
        float s = 0;
        for (int64_t c = 0; c < chunks; ++c) {
            const uint8_t* chunk = block + c * cb;
            float          sc[4];
            std::memcpy(sc, chunk + quant_chunk_scales_offset(q) + 16 * k, sizeof sc);
            const int64_t n = std::min<int64_t>(4, G - 4 * c) * kQuantGroup;
            const float*  x = v.x + c * 4 * kQuantGroup;
            s += q8 ? dot_q8(x, reinterpret_cast<const int8_t*>(chunk + k * rcb), sc, n) : dot_q4(x, chunk + k * rcb, sc, n);
        }
        y[k] = s;
    }
}

// ---- preparation ------------------------------------------------------------------------------------------------
// The vector is prepared by one thread while the others wait, once per product: in scalar code that was 17-73 us per
// call at the 9B's widths (about 5 ms per token over 40 layers), so the AVX-512 tiers prepare it with vectors too.

// x ≈ hi + lo, both bf16 rounded to nearest even (as f32_to_bf16).
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void split_bf16_avx512(const float* x, int64_t n, uint16_t* hi,
                                                                              uint16_t* lo) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512   v  = _mm512_loadu_ps(x + i);
        const __m256i  h  = (__m256i)_mm512_cvtneps_pbh(v);
        const __m512   hf = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
        const __m256i  l  = (__m256i)_mm512_cvtneps_pbh(_mm512_sub_ps(v, hf));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(hi + i), h);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo + i), l);
    }
    for (; i < n; ++i) {
        hi[i] = f32_to_bf16(x[i]);
        lo[i] = f32_to_bf16(x[i] - bf16_to_f32(hi[i]));
    }
}

// The activation vector to int8 per group of 32 (scale amax/127, for n a multiple of 32), 32 values per step; with
// `offset`, also q + 128 (the unsigned operand of the q8 kernel). Rounds by adding ±0.5 and truncating: the same as
// quantize_row_q8's std::lround except where x/scale lies within an ulp below a half (0.49999997 → 1 here, 0 there),
// which does not matter for a vector quantised afresh every product; weights go through quantize_row_q8.
__attribute__((target("avx512f,avx512bw"))) void quantize_q8_avx512(const float* x, int64_t n, int8_t* q, float* scales,
                                                                   uint8_t* offset) {
    const __m512i abs_mask  = _mm512_set1_epi32(0x7FFFFFFF);
    const __m512i sign_mask = _mm512_set1_epi32(int32_t(0x80000000u));
    const __m512i half      = _mm512_castps_si512(_mm512_set1_ps(0.5f));
    for (int64_t g = 0; g < n / kQuantGroup; ++g) {
        const __m512 a    = _mm512_loadu_ps(x + g * kQuantGroup);
        const __m512 b    = _mm512_loadu_ps(x + g * kQuantGroup + 16);
        const __m512 absa = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), abs_mask));
        const __m512 absb = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(b), abs_mask));
        const float  amax = _mm512_reduce_max_ps(_mm512_max_ps(absa, absb));
        const float  s = amax / 127.f, inv = s > 0 ? 1.f / s : 0.f;
        scales[g]      = s;
        for (int h = 0; h < 2; ++h) {
            const __m512  r  = _mm512_mul_ps(h ? b : a, _mm512_set1_ps(inv));
            const __m512i hs = _mm512_or_si512(half, _mm512_and_si512(_mm512_castps_si512(r), sign_mask)); // ±0.5
            __m512i       i  = _mm512_cvttps_epi32(_mm512_add_ps(r, _mm512_castsi512_ps(hs)));
            i                = _mm512_min_epi32(_mm512_max_epi32(i, _mm512_set1_epi32(-127)), _mm512_set1_epi32(127));
            const __m128i bytes = _mm512_cvtepi32_epi8(i);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(q + g * kQuantGroup + h * 16), bytes);
            if (offset)
                _mm_storeu_si128(reinterpret_cast<__m128i*>(offset + g * kQuantGroup + h * 16),
                                 _mm_xor_si128(bytes, _mm_set1_epi8(int8_t(0x80))));
        }
    }
}

// q4's layout of the quantised x (see gemv_prepare) and its per-lane bias 8·Σx, by vpdpbusd against ones: lane l
// of a 64-byte block sums bytes 4l..4l+3, exactly the values that meet lane l's nibbles.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void arrange_q4_avx512(const int8_t* qn, int64_t blocks, int8_t* q,
                                                                             int32_t* bias) {
    const __m512i ones = _mm512_set1_epi8(1);
    for (int64_t b = 0; b < blocks; ++b) {
        for (int gl = 0; gl < 4; ++gl) {
            std::memcpy(q + b * 128 + gl * 16, qn + (b * 4 + gl) * kQuantGroup, 16);
            std::memcpy(q + b * 128 + 64 + gl * 16, qn + (b * 4 + gl) * kQuantGroup + 16, 16);
        }
        const __m512i lo = _mm512_loadu_si512(q + b * 128), hi = _mm512_loadu_si512(q + b * 128 + 64);
        const __m512i s  = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, lo), ones, hi);
        _mm512_storeu_si512(bias + b * 16, _mm512_slli_epi32(s, 3));
    }
}

template <typename Block>
void four_at_a_time(int64_t rows, Block&& block) {
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) block(std::integral_constant<int, 4>{}, r);
    for (; r < rows; ++r) block(std::integral_constant<int, 1>{}, r);
}

} // namespace

void gemv_prepare(const float* x, int64_t n, GemvWeights kind, GemvVector& v) {
    v.kind = kind;
    v.x    = x;
    v.n    = n;
    switch (tier(kind)) {
    case Tier::avx512_bf16:
        v.hi.resize(size_t(n));
        v.lo.resize(size_t(n));
        split_bf16_avx512(x, n, v.hi.data(), v.lo.data());
        break;
    case Tier::avx512:
    case Tier::avx2_blocks:
        v.even.resize(size_t(n / 2));
        v.odd.resize(size_t(n / 2));
        for (int64_t j = 0; j < n / 2; ++j) v.even[size_t(j)] = x[2 * j], v.odd[size_t(j)] = x[2 * j + 1];
        break;
    case Tier::avx512_vnni: {
        // The same per-group int8 rule as q8 weights (amax / 127), padded with zeros to whole chunks of four groups
        // (the weights' padding, quant_blocks.h).
        const int64_t        Gp = padded_groups(n);
        std::vector<int8_t>& q = kind == GemvWeights::q8 ? v.q : v.q_natural;
        q.assign(size_t(Gp * kQuantGroup), 0);
        v.scale.assign(size_t(Gp), 0.f);
        if (kind == GemvWeights::q8) v.q_offset.assign(size_t(Gp * kQuantGroup), 0x80);
        quantize_q8_avx512(x, n, q.data(), v.scale.data(), kind == GemvWeights::q8 ? v.q_offset.data() : nullptr);
        if (kind == GemvWeights::q8) {
            v.lane_scale.resize(size_t(Gp * 8));
            for (int64_t g = 0; g < Gp; ++g) std::fill_n(v.lane_scale.begin() + g * 8, 8, v.scale[size_t(g)]);
        } else {
            // Blocks of four groups: 64 bytes with each group's first 16 values (they meet the low nibbles), then
            // 64 bytes with their last 16 (the high nibbles). Lane l of a block covers bytes 4l..4l+3 of both.
            const int64_t B = Gp / 4;
            v.q.resize(size_t(B * 128));
            v.q4_bias.resize(size_t(B * 16));
            v.lane_scale.resize(size_t(B * 16));
            arrange_q4_avx512(v.q_natural.data(), B, v.q.data(), v.q4_bias.data());
            for (int64_t g = 0; g < Gp; ++g) std::fill_n(v.lane_scale.begin() + g * 4, 4, v.scale[size_t(g)]);
        }
        break;
    }
    case Tier::avx2_int8: {
        // x to int8 per group by the q8 weight rule, padded with zeros to whole chunks of four groups; for q4 then
        // per pair of groups 32 bytes of their first 16 values and 32 of their last 16, with each lane's 8·Σ and x
        // scale (q4_block_avx2).
        const int64_t Gp = padded_groups(n);
        v.scale.assign(size_t(Gp), 0.f);
        if (kind == GemvWeights::q8) {
            v.q.assign(size_t(Gp * kQuantGroup), 0);
            quantize_row_q8(x, n, v.q.data(), v.scale.data());
            break;
        }
        v.q_natural.assign(size_t(Gp * kQuantGroup), 0);
        quantize_row_q8(x, n, v.q_natural.data(), v.scale.data());
        const int64_t P = Gp / 2;
        v.q.resize(size_t(P * 64));
        v.q4_bias.resize(size_t(P * 8));
        v.lane_scale.resize(size_t(P * 8));
        for (int64_t p = 0; p < P; ++p) {
            const int8_t* g0 = v.q_natural.data() + 2 * p * kQuantGroup;
            int8_t*       q  = v.q.data() + p * 64;
            std::memcpy(q, g0, 16);
            std::memcpy(q + 16, g0 + 32, 16);
            std::memcpy(q + 32, g0 + 16, 16);
            std::memcpy(q + 48, g0 + 48, 16);
            for (int lane = 0; lane < 8; ++lane) {
                int32_t sum = 0;
                for (int j = 0; j < 4; ++j)
                    sum += q[lane * 4 + j] + q[32 + lane * 4 + j];
                v.q4_bias[size_t(p * 8 + lane)]    = 8 * sum;
                v.lane_scale[size_t(p * 8 + lane)] = v.scale[size_t(2 * p + lane / 4)];
            }
        }
        break;
    }
    case Tier::portable_or_avx2: break;
    }
}

void gemv_bf16_rows(const GemvVector& v, const uint16_t* w, int64_t rows, float* y) {
    const int64_t n = v.n;
    switch (tier(GemvWeights::bf16)) {
    case Tier::avx512_bf16:
        four_at_a_time(rows, [&](auto R, int64_t r) { bf16_block_bf16ext<decltype(R)::value>(v, w + r * n, y + r); });
        return;
    case Tier::avx512:
        four_at_a_time(rows, [&](auto R, int64_t r) { bf16_block_avx512<decltype(R)::value>(v, w + r * n, y + r); });
        return;
    case Tier::avx2_blocks:
        four_at_a_time(rows, [&](auto R, int64_t r) { bf16_block_avx2<decltype(R)::value>(v, w + r * n, y + r); });
        return;
    default:
        for (int64_t r = 0; r < rows; ++r) y[r] = dot_bf16(v.x, w + r * n, n);
    }
}

namespace {

using BlockKernel = void (*)(const GemvVector&, const uint8_t*, int64_t, int64_t, float*);

void gemv_blocks(const GemvVector& v, GemvWeights kind, int64_t chunk_bytes, BlockKernel vnni, BlockKernel avx2,
                 const uint8_t* blocks, int64_t n_blocks, float* y) {
    const int64_t chunks = padded_groups(v.n) / 4, stride = chunks * chunk_bytes, d = block_prefetch_bytes();
    const Tier    t      = tier(kind);
    for (int64_t b = 0; b < n_blocks; ++b) {
        const uint8_t* blk = blocks + b * stride;
        if (t == Tier::avx512_vnni) vnni(v, blk, chunks, d, y + 4 * b);
        else if (t == Tier::avx2_int8) avx2(v, blk, chunks, d, y + 4 * b);
        else quant_block_rows(v, blk, chunks, y + 4 * b);
    }
}

} // namespace

void gemv_q8_blocks(const GemvVector& v, const uint8_t* blocks, int64_t n_blocks, float* y) {
    gemv_blocks(v, GemvWeights::q8, kQ8Chunk, q8_block_vnni, q8_block_avx2, blocks, n_blocks, y);
}

void gemv_q4_blocks(const GemvVector& v, const uint8_t* blocks, int64_t n_blocks, float* y) {
    gemv_blocks(v, GemvWeights::q4, kQ4Chunk, q4_block_vnni, q4_block_avx2, blocks, n_blocks, y);
}

const char* gemv_isa(GemvWeights kind) {
    switch (tier(kind)) {
    case Tier::avx512_bf16: return "avx512-bf16";
    case Tier::avx512_vnni: return "avx512-vnni";
    case Tier::avx512: return "avx512";
    case Tier::avx2_int8:
        return "avx2-int8";
    case Tier::avx2_blocks:
        return "avx2-blocks";
    case Tier::portable_or_avx2: break;
    }
    return kernel_isa();
}

} // namespace glmv::ops
