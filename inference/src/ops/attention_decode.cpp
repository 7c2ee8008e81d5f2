#include "ops/attention_decode.h"

#include "ops/kernels.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

// The 64-byte vectors below only pass between always-inlined functions, never across a call, so GCC's note that
// their calling convention depends on AVX-512 does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace glmv::ops {

namespace {

// Keys per piece of the cache at most: the scores of a piece ([piece][16] floats, 32 KB) stay in L1/L2.
constexpr int64_t kMaxPiece = 512;

// Sixteen floats, one per query head: GCC's vector extension, so one source compiles to one AVX-512 register,
// two AVX2 registers or four SSE2 registers in the variants below (the compiler's own vectoriser picked the wrong
// loop here: it transposed keys instead of running across heads).
typedef float   v16 __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));
typedef float   v16_unaligned __attribute__((vector_size(64), aligned(4)));

[[gnu::always_inline]] inline v16 load16(const float* p) {
    return *reinterpret_cast<const v16_unaligned*>(p);
}
[[gnu::always_inline]] inline void store16(float* p, v16 x) {
    *reinterpret_cast<v16_unaligned*>(p) = x;
}

// e^x for x ≤ 0 (scores minus their maximum): x = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-6 Taylor
// polynomial (relative error below 2e-7 there), 2^n put into the exponent bits. The library expf is a call per
// element.
[[gnu::always_inline]] inline v16 exp_nonpositive(v16 x) {
    const v16 lowest  = x - x - 87.f; // e^-87 is near the smallest normal float
    x                 = x < lowest ? lowest : x;
    const float round = 12582912.f;                                   // 1.5·2^23: adding it rounds to an integer
    const v16   n     = (x * 1.44269504088896341f + round) - round;   // nearest integer to x / ln2
    const v16   r     = (x - n * 0.693359375f) - n * -2.12194440e-4f; // ln2 in two parts, so r keeps its digits
    v16         p     = r * (1.f / 720) + 1.f / 120;
    p                 = p * r + 1.f / 24;
    p                 = p * r + 1.f / 6;
    p                 = p * r + 0.5f;
    p                 = p * r + 1.f;
    p                 = p * r + 1.f;
    const v16i bits   = (__builtin_convertvector(n, v16i) + 127) << 23;
    return p * (v16)bits; // a vector cast keeps the bits
}

// Query heads per task, the innermost (vectorised) dimension of every loop: the 9B has 16 query heads per KV head;
// smaller groups are padded with zero queries (wasted work only on toy-size models), larger ones take several tasks.
constexpr int kHeads = 16;

struct Piece {
    const float* qt; // [hd][kHeads]: this task's query heads, transposed and pre-scaled by 1/√hd
    const float* k;  // first key of the piece (this KV head's columns), rows k_stride apart
    const float* v;  // likewise
    int64_t      n, hd, k_stride, v_stride;
    float*       scores; // [n][kHeads] scratch
    float*       max;    // [kHeads] out: the largest score of each head in this piece
    float*       sum;    // [kHeads] out: Σ e^(score − max)
    float*       acc;    // [hd][kHeads] out: Σ e^(score − max) · v
};

// One piece of the cache for up to 16 query heads. Written once and compiled for each instruction set below; with
// the heads innermost every operation is on a vector of 16, keys and values are read once per task, and the running
// sums stay in registers: four keys at a time for the scores, eight value columns at a time for the sums.
[[gnu::always_inline]] inline void piece_body(const Piece& p) {
    const int64_t n = p.n, hd = p.hd;
    float* const  S = p.scores;
    int64_t       j = 0;
    for (; j + 4 <= n; j += 4) {
        const float* k0 = p.k + j * p.k_stride;
        const float* k1 = k0 + p.k_stride;
        const float* k2 = k1 + p.k_stride;
        const float* k3 = k2 + p.k_stride;
        v16          a0 = {}, a1 = {}, a2 = {}, a3 = {};
        for (int64_t e = 0; e < hd; ++e) {
            const v16 qe = load16(p.qt + e * kHeads);
            a0 += qe * k0[e];
            a1 += qe * k1[e];
            a2 += qe * k2[e];
            a3 += qe * k3[e];
        }
        store16(S + (j + 0) * kHeads, a0);
        store16(S + (j + 1) * kHeads, a1);
        store16(S + (j + 2) * kHeads, a2);
        store16(S + (j + 3) * kHeads, a3);
    }
    for (; j < n; ++j) {
        const float* kj = p.k + j * p.k_stride;
        v16          a  = {};
        for (int64_t e = 0; e < hd; ++e)
            a += load16(p.qt + e * kHeads) * kj[e];
        store16(S + j * kHeads, a);
    }

    v16 mx = load16(S), total = {};
    for (j = 1; j < n; ++j) {
        const v16 sj = load16(S + j * kHeads);
        mx           = sj > mx ? sj : mx;
    }
    for (j = 0; j < n; ++j) {
        const v16 e = exp_nonpositive(load16(S + j * kHeads) - mx);
        store16(S + j * kHeads, e);
        total += e;
    }
    store16(p.max, mx);
    store16(p.sum, total);

    int64_t e0 = 0;
    for (; e0 + 8 <= hd; e0 += 8) {
        v16 a[8] = {};
        for (j = 0; j < n; ++j) {
            const float* vj = p.v + j * p.v_stride + e0;
            const v16    sj = load16(S + j * kHeads);
            for (int t = 0; t < 8; ++t)
                a[t] += sj * vj[t];
        }
        for (int t = 0; t < 8; ++t)
            store16(p.acc + (e0 + t) * kHeads, a[t]);
    }
    for (; e0 < hd; ++e0) {
        v16 a = {};
        for (j = 0; j < n; ++j)
            a += load16(S + j * kHeads) * p.v[j * p.v_stride + e0];
        store16(p.acc + e0 * kHeads, a);
    }
}

void piece_portable(const Piece& p) {
    piece_body(p);
}
__attribute__((target("avx2,fma"))) void piece_avx2(const Piece& p) {
    piece_body(p);
}
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) void piece_avx512(const Piece& p) {
    piece_body(p);
}

using PieceFn = void (*)(const Piece&);

PieceFn choose(DecodeAttentionIsa isa) {
    if (isa == DecodeAttentionIsa::automatic) {
        const std::string chosen = kernel_isa();
        isa                      = chosen == "avx512" ? DecodeAttentionIsa::avx512
                                   : chosen == "avx2" ? DecodeAttentionIsa::avx2
                                                      : DecodeAttentionIsa::portable;
    }
    switch (isa) {
    case DecodeAttentionIsa::avx512:
        return piece_avx512;
    case DecodeAttentionIsa::avx2:
        return piece_avx2;
    default:
        return piece_portable;
    }
}

} // namespace

bool attention_decode(const float* q, const float* k, const float* v, float* out, const AttentionShape& s,
                      DecodeAttentionIsa isa) {
    if (s.n_q != 1 || s.n_head_kv <= 0 || s.n_head % s.n_head_kv || s.head_dim <= 0) return false;
    const int64_t n_keys = s.causal ? std::min(s.n_k, s.q_offset + 1) : s.n_k;
    if (n_keys <= 0) return false;
    const PieceFn run_piece = choose(isa);
    const int64_t G = s.n_head / s.n_head_kv, hd = s.head_dim;
    const int64_t subgroups = (G + kHeads - 1) / kHeads, lanes = s.n_head_kv * subgroups; // 16-head sets
    // Enough pieces for about four per thread (the threads finish together), none shorter than 32 keys (each piece
    // has a fixed cost: its max/sum bookkeeping and the merge).
    const int64_t threads = omp_get_max_threads();
    const int64_t piece =
        std::clamp<int64_t>(((n_keys * lanes + 4 * threads - 1) / (4 * threads) + 15) & ~int64_t(15), 32, kMaxPiece);
    const int64_t n_pieces = (n_keys + piece - 1) / piece, n_tasks = lanes * n_pieces;

    static thread_local std::vector<float> query_t, part_max, part_sum, part_acc;
    query_t.assign(size_t(lanes * hd * kHeads), 0.f);
    part_max.resize(size_t(n_tasks * kHeads));
    part_sum.resize(size_t(n_tasks * kHeads));
    part_acc.resize(size_t(n_tasks * hd * kHeads));
    const float scale = 1.f / std::sqrt(float(hd));
    for (int64_t h = 0; h < s.n_head; ++h) {
        const int64_t lane = h / G * subgroups + h % G / kHeads, g = h % G % kHeads;
        for (int64_t e = 0; e < hd; ++e)
            query_t[size_t((lane * hd + e) * kHeads + g)] = q[h * hd + e] * scale;
    }
    const float* const qt   = query_t.data(); // workers reach the caller's buffers through these pointers
    float* const       pmax = part_max.data();
    float* const       psum = part_sum.data();
    float* const       pacc = part_acc.data();

#pragma omp parallel if (n_keys * lanes > 256)
    {
        std::vector<float> scores(size_t(piece * kHeads));
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < n_tasks; ++t) {
            const int64_t lane = t / n_pieces, kvh = lane / subgroups, j0 = (t % n_pieces) * piece;
            Piece         p;
            p.qt = qt + lane * hd * kHeads;
            p.k = k + j0 * s.k_stride + kvh * hd, p.v = v + j0 * s.v_stride + kvh * hd;
            p.n = std::min(piece, n_keys - j0), p.hd = hd, p.k_stride = s.k_stride, p.v_stride = s.v_stride;
            p.scores = scores.data();
            p.max = pmax + t * kHeads, p.sum = psum + t * kHeads, p.acc = pacc + t * hd * kHeads;
            run_piece(p);
        }
        // Merge the pieces of each query head: rescale each to the overall maximum.
#pragma omp for schedule(static)
        for (int64_t h = 0; h < s.n_head; ++h) {
            const int64_t lane = h / G * subgroups + h % G / kHeads, g = h % G % kHeads;
            float         mx = -std::numeric_limits<float>::infinity();
            for (int64_t i = 0; i < n_pieces; ++i)
                mx = std::max(mx, pmax[(lane * n_pieces + i) * kHeads + g]);
            float* o     = out + h * hd;
            float  total = 0.f;
            std::fill(o, o + hd, 0.f);
            for (int64_t i = 0; i < n_pieces; ++i) {
                const int64_t t = lane * n_pieces + i;
                const float   w = std::exp(pmax[t * kHeads + g] - mx);
                total += w * psum[t * kHeads + g];
                const float* a = pacc + t * hd * kHeads + g;
                for (int64_t e = 0; e < hd; ++e)
                    o[e] += w * a[e * kHeads];
            }
            const float inv = 1.f / total;
            for (int64_t e = 0; e < hd; ++e)
                o[e] *= inv;
        }
    }
    return true;
}

} // namespace glmv::ops
