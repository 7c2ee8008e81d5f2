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
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wpsabi"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace glmv::ops {

namespace {

// Keys per piece of the cache at most: the scores of a piece ([piece][16] floats, 32 KB) stay in L1/L2.
constexpr int64_t kMaxPiece = 512;

// Sixteen floats, one per query head (kHeads below), as 16 / W native vectors of W floats: 64-byte vectors on
// AVX-512, 32 on AVX2, 16 on baseline x86-64, so every operation is 16 / W register instructions. One 64-byte vector
// type for all three (GCC's vector extension) was lowered well only for AVX-512: on AVX2 GCC split it through
// general registers and the stack, and decode attention ran at a tenth of the AVX-512 speed (VM: 3.3 against 30 GB/s).
// (The compiler's own vectoriser picked the wrong loop here: it transposed keys instead of running across heads.)
template <int W> struct Native;
template <> struct Native<16> {
    typedef float   f __attribute__((vector_size(64)));
    typedef float   unaligned __attribute__((vector_size(64), aligned(4)));
    typedef int32_t i __attribute__((vector_size(64)));
};
template <> struct Native<8> {
    typedef float   f __attribute__((vector_size(32)));
    typedef float   unaligned __attribute__((vector_size(32), aligned(4)));
    typedef int32_t i __attribute__((vector_size(32)));
};
template <> struct Native<4> {
    typedef float   f __attribute__((vector_size(16)));
    typedef float   unaligned __attribute__((vector_size(16), aligned(4)));
    typedef int32_t i __attribute__((vector_size(16)));
};

template <int W> struct H16 {
    using F                = typename Native<W>::f;
    static constexpr int N = 16 / W;
    F                    p[N];
};

template <int W> [[gnu::always_inline]] inline H16<W> zero16() {
    H16<W> r;
    for (int i = 0; i < H16<W>::N; ++i)
        r.p[i] = typename H16<W>::F{};
    return r;
}
// Unaligned loads and stores through a vector type of alignment 4 (a memcpy into the array went through the
// stack in 16-byte pieces on AVX2, and each reload stalled on store forwarding).
template <int W> [[gnu::always_inline]] inline H16<W> load16(const float* src) {
    H16<W> r;
    for (int i = 0; i < H16<W>::N; ++i)
        r.p[i] = *reinterpret_cast<const typename Native<W>::unaligned*>(src + i * W);
    return r;
}
template <int W> [[gnu::always_inline]] inline void store16(float* dst, const H16<W>& x) {
    for (int i = 0; i < H16<W>::N; ++i)
        *reinterpret_cast<typename Native<W>::unaligned*>(dst + i * W) = x.p[i];
}
template <int W> [[gnu::always_inline]] inline void add_scaled(H16<W>& acc, const H16<W>& a, float s) { // acc += a·s
    for (int i = 0; i < H16<W>::N; ++i)
        acc.p[i] += a.p[i] * s;
}
template <int W> [[gnu::always_inline]] inline void add_product(H16<W>& acc, const H16<W>& a, const H16<W>& b) {
    for (int i = 0; i < H16<W>::N; ++i)
        acc.p[i] += a.p[i] * b.p[i];
}
template <int W> [[gnu::always_inline]] inline void add_to(H16<W>& acc, const H16<W>& a) {
    for (int i = 0; i < H16<W>::N; ++i)
        acc.p[i] += a.p[i];
}
template <int W> [[gnu::always_inline]] inline H16<W> max16(const H16<W>& a, const H16<W>& b) {
    H16<W> r;
    for (int i = 0; i < H16<W>::N; ++i)
        r.p[i] = a.p[i] > b.p[i] ? a.p[i] : b.p[i];
    return r;
}
template <int W> [[gnu::always_inline]] inline H16<W> minus16(const H16<W>& a, const H16<W>& b) {
    H16<W> r;
    for (int i = 0; i < H16<W>::N; ++i)
        r.p[i] = a.p[i] - b.p[i];
    return r;
}

// e^x for x ≤ 0 (scores minus their maximum): x = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-6 Taylor
// polynomial (relative error below 2e-7 there), 2^n put into the exponent bits. The library expf is a call per
// element.
template <int W> [[gnu::always_inline]] inline typename Native<W>::f exp_nonpositive(typename Native<W>::f x) {
    using F           = typename Native<W>::f;
    using I           = typename Native<W>::i;
    const F lowest    = x - x - 87.f; // e^-87 is near the smallest normal float
    x                 = x < lowest ? lowest : x;
    const float round = 12582912.f;                                   // 1.5·2^23: adding it rounds to an integer
    const F     n     = (x * 1.44269504088896341f + round) - round;   // nearest integer to x / ln2
    const F     r     = (x - n * 0.693359375f) - n * -2.12194440e-4f; // ln2 in two parts, so r keeps its digits
    F           p     = r * (1.f / 720) + 1.f / 120;
    p                 = p * r + 1.f / 24;
    p                 = p * r + 1.f / 6;
    p                 = p * r + 0.5f;
    p                 = p * r + 1.f;
    p                 = p * r + 1.f;
    const I bits      = (__builtin_convertvector(n, I) + 127) << 23;
    return p * (F)bits; // a vector cast keeps the bits
}
template <int W> [[gnu::always_inline]] inline H16<W> exp16(const H16<W>& x) {
    H16<W> r;
    for (int i = 0; i < H16<W>::N; ++i)
        r.p[i] = exp_nonpositive<W>(x.p[i]);
    return r;
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
// sums stay in registers: Keys keys at a time for the scores, Cols value columns at a time for the sums (as many
// as the instruction set's registers hold: 16 × 512-bit, 16 × 256-bit or 16 × 128-bit).
template <int W, int Keys, int Cols> [[gnu::always_inline]] inline void piece_body(const Piece& p) {
    using V         = H16<W>;
    const int64_t n = p.n, hd = p.hd;
    float* const  S = p.scores;
    int64_t       j = 0;
    static_assert(Keys == 2 || Keys == 4);
    for (; j + Keys <= n; j += Keys) {
        // Named row pointers indexed by e: an array of Keys pointers compiled to two more address computations per
        // step of this loop, which made it 25 % slower at context 32768 (AVX-512, VM).
        const float* k0 = p.k + j * p.k_stride;
        const float* k1 = k0 + p.k_stride;
        const float* k2 = Keys == 4 ? k1 + p.k_stride : k1;
        const float* k3 = Keys == 4 ? k2 + p.k_stride : k1;
        V            a0 = zero16<W>(), a1 = zero16<W>(), a2 = zero16<W>(), a3 = zero16<W>();
        for (int64_t e = 0; e < hd; ++e) {
            const V qe = load16<W>(p.qt + e * kHeads);
            add_scaled(a0, qe, k0[e]);
            add_scaled(a1, qe, k1[e]);
            if constexpr (Keys == 4) {
                add_scaled(a2, qe, k2[e]);
                add_scaled(a3, qe, k3[e]);
            }
        }
        store16(S + j * kHeads, a0);
        store16(S + (j + 1) * kHeads, a1);
        if constexpr (Keys == 4) {
            store16(S + (j + 2) * kHeads, a2);
            store16(S + (j + 3) * kHeads, a3);
        }
    }
    for (; j < n; ++j) {
        const float* kj = p.k + j * p.k_stride;
        V            a  = zero16<W>();
        for (int64_t e = 0; e < hd; ++e)
            add_scaled(a, load16<W>(p.qt + e * kHeads), kj[e]);
        store16(S + j * kHeads, a);
    }

    V mx = load16<W>(S), total = zero16<W>();
    for (j = 1; j < n; ++j)
        mx = max16(mx, load16<W>(S + j * kHeads));
    for (j = 0; j < n; ++j) {
        const V e = exp16(minus16(load16<W>(S + j * kHeads), mx));
        store16(S + j * kHeads, e);
        add_to(total, e);
    }
    store16(p.max, mx);
    store16(p.sum, total);

    int64_t e0 = 0;
    for (; e0 + Cols <= hd; e0 += Cols) {
        V a[Cols];
        for (int t = 0; t < Cols; ++t)
            a[t] = zero16<W>();
        for (j = 0; j < n; ++j) {
            const float* vj = p.v + j * p.v_stride + e0;
            const V      sj = load16<W>(S + j * kHeads);
            for (int t = 0; t < Cols; ++t)
                add_scaled(a[t], sj, vj[t]);
        }
        for (int t = 0; t < Cols; ++t)
            store16(p.acc + (e0 + t) * kHeads, a[t]);
    }
    for (; e0 < hd; ++e0) {
        V a = zero16<W>();
        for (j = 0; j < n; ++j)
            add_scaled(a, load16<W>(S + j * kHeads), p.v[j * p.v_stride + e0]);
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

template <int W> [[gnu::always_inline]] inline void merge_body(const Merge& m) {
    using V = H16<W>;
    V mx    = load16<W>(m.max);
    for (int64_t t = 1; t < m.n_pieces; ++t)
        mx = max16(mx, load16<W>(m.max + t * kHeads));
    V total = zero16<W>(), a[16];
    for (int c = 0; c < 16; ++c)
        a[c] = zero16<W>();
    for (int64_t t = 0; t < m.n_pieces; ++t) {
        const V      w   = exp16(minus16(load16<W>(m.max + t * kHeads), mx));
        const float* src = m.acc + (t * m.hd + m.e0) * kHeads;
        add_product(total, w, load16<W>(m.sum + t * kHeads));
        for (int64_t c = 0; c < m.cols; ++c)
            add_product(a[c], w, load16<W>(src + c * kHeads));
    }
    float inv[kHeads], r[kHeads];
    store16(inv, total);
    for (float& x : inv)
        x = 1.f / x;
    for (int64_t c = 0; c < m.cols; ++c) {
        store16(r, a[c]);
        for (int g = 0; g < m.heads; ++g)
            m.out[g * m.hd + m.e0 + c] = r[g] * inv[g];
    }
}

void piece_portable(const Piece& p) {
    piece_body<4, 2, 2>(p);
}
__attribute__((target("avx2,fma"))) void piece_avx2(const Piece& p) {
    piece_body<8, 4, 4>(p);
}
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) void piece_avx512(const Piece& p) {
    piece_body<16, 4, 8>(p);
}
void merge_portable(const Merge& m) {
    merge_body<4>(m);
}
__attribute__((target("avx2,fma"))) void merge_avx2(const Merge& m) {
    merge_body<8>(m);
}
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl"))) void merge_avx512(const Merge& m) {
    merge_body<16>(m);
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
