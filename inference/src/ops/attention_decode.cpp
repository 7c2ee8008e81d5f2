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

// Merges the pieces of one 16-head lane for a block of up to 16 value columns: each piece's sums are rescaled to the
// lane's overall maximum (split-K). A task reads its columns of every piece as whole 64-byte lines that no other task
// touches; merging per head instead read each line of every piece once per head, from the cores that wrote it, which
// kept a context-512 step at about 54 us on the 16-core host whatever the thread count (100 us on one thread).
struct Merge {
    const float* max; // [n_pieces][kHeads] of this lane
    const float* sum; // likewise
    const float* acc; // [n_pieces][hd][kHeads] of this lane
    int64_t      n_pieces, hd, e0, cols;
    int          heads; // real heads of the lane (≤ kHeads)
    float*       out;   // the lane's first head, [heads][hd]
};

[[gnu::always_inline]] inline void merge_body(const Merge& m) {
    v16 mx = load16(m.max);
    for (int64_t t = 1; t < m.n_pieces; ++t) {
        const v16 pt = load16(m.max + t * kHeads);
        mx           = pt > mx ? pt : mx;
    }
    v16 total = {}, a[16] = {};
    for (int64_t t = 0; t < m.n_pieces; ++t) {
        const v16    w   = exp_nonpositive(load16(m.max + t * kHeads) - mx);
        const float* src = m.acc + (t * m.hd + m.e0) * kHeads;
        total += w * load16(m.sum + t * kHeads);
        for (int64_t c = 0; c < m.cols; ++c)
            a[c] += w * load16(src + c * kHeads);
    }
    const v16 inv = 1.f / total;
    for (int64_t c = 0; c < m.cols; ++c) {
        const v16 r = a[c] * inv;
        for (int g = 0; g < m.heads; ++g)
            m.out[g * m.hd + m.e0 + c] = r[g];
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
void merge_portable(const Merge& m) {
    merge_body(m);
}
__attribute__((target("avx2,fma"))) void merge_avx2(const Merge& m) {
    merge_body(m);
}
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) void merge_avx512(const Merge& m) {
    merge_body(m);
}

struct Variant {
    void (*piece)(const Piece&);
    void (*merge)(const Merge&);
};

Variant choose(DecodeAttentionIsa isa) {
    if (isa == DecodeAttentionIsa::automatic) {
        const std::string chosen = kernel_isa();
        isa                      = chosen == "avx512" ? DecodeAttentionIsa::avx512
                                   : chosen == "avx2" ? DecodeAttentionIsa::avx2
                                                      : DecodeAttentionIsa::portable;
    }
    switch (isa) {
    case DecodeAttentionIsa::avx512:
        return {piece_avx512, merge_avx512};
    case DecodeAttentionIsa::avx2:
        return {piece_avx2, merge_avx2};
    default:
        return {piece_portable, merge_portable};
    }
}

} // namespace

bool attention_decode(const float* q, const float* k, const float* v, float* out, const AttentionShape& s,
                      DecodeAttentionIsa isa) {
    if (s.n_q != 1 || s.n_head_kv <= 0 || s.n_head % s.n_head_kv || s.head_dim <= 0) return false;
    const int64_t n_keys = s.causal ? std::min(s.n_k, s.q_offset + 1) : s.n_k;
    if (n_keys <= 0) return false;
    const Variant variant = choose(isa);
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
            variant.piece(p);
        }
        // Merge the pieces: a task per lane and block of 16 value columns (merge_body).
        const int64_t col_blocks = (hd + 15) / 16;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < lanes * col_blocks; ++t) {
            const int64_t lane = t / col_blocks, kvh = lane / subgroups, sub = lane % subgroups;
            Merge         m;
            m.max = pmax + lane * n_pieces * kHeads, m.sum = psum + lane * n_pieces * kHeads;
            m.acc      = pacc + lane * n_pieces * hd * kHeads;
            m.n_pieces = n_pieces, m.hd = hd, m.e0 = t % col_blocks * 16, m.cols = std::min<int64_t>(16, hd - m.e0);
            m.heads = int(std::min<int64_t>(kHeads, G - sub * kHeads));
            m.out   = out + (kvh * G + sub * kHeads) * hd;
            variant.merge(m);
        }
    }
    return true;
}

} // namespace glmv::ops
