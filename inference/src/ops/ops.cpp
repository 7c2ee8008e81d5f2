// Dense kernels. Inside `linear`: matrix-vector products (decode) by the SIMD kernels of gemv.h, matrix-matrix
// products (prefill, vision) by oneDNN (gemm.h) on weights widened slab by slab, so the weights stay mapped.
#include "ops/ops.h"

#include "ops/attention_decode.h"
#include "ops/gemm.h"
#include "ops/gemv.h"
#include "ops/kernels.h"
#include "ops/quant_blocks.h"
#include "ops/simd_intrinsics.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <span>
#include <string>

namespace glmv::ops {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapConst  = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using MapMut    = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;

uint64_t WeightMatrix::bytes() const {
    if (quant != Quant::none) return block_shape(*this).bytes();
    return uint64_t(rows) * uint64_t(cols) * dtype_size(dtype);
}

bool can_quantize(int64_t cols) { return cols % kQuantGroup == 0; }

namespace {

// Row r of w quantised into its row-major bytes and scales (row is the caller's buffer of w.cols floats).
void quantize_row_of(const WeightMatrix& w, int64_t r, Quant q, float* row, uint8_t* data, float* scales) {
    weight_row_to_f32(w, r, row);
    if (q == Quant::q8) quantize_row_q8(row, w.cols, reinterpret_cast<int8_t*>(data), scales);
    else quantize_row_q4(row, w.cols, data, scales);
}

} // namespace

void quantize_rows(const WeightMatrix& w, Quant q, OwnedBytes& data, OwnedFloats& scales) {
    const int64_t R = w.rows, C = w.cols, G = C / kQuantGroup, row_bytes = quant_row_bytes(q, C);
    data.resize(size_t(R * row_bytes)); // every byte and scale is written below
    scales.resize(size_t(R * G));
#pragma omp parallel
    {
        std::vector<float> row(static_cast<size_t>(C));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < R; ++r)
            quantize_row_of(w, r, q, row.data(), data.data() + r * row_bytes, scales.data() + r * G);
    }
}

namespace {

// A matrix's blocks from its rows in the row-major form, four at a time: rows_of(b) gives the bytes and scales of
// block b's first row (quant_blocks.h: pack_quant_block). On all threads, so the blocks' pages are first touched by
// the thread that writes them.
template <typename RowsOf>
OwnedBytes pack_blocks(const QuantBlockShape& shape, RowsOf&& rows_of) {
    OwnedBytes blocks(size_t(shape.bytes()));
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < shape.blocks(); ++b) {
        const auto [data, scales] = rows_of(b);
        pack_quant_block(shape, data, scales, std::min(kBlockRows, shape.rows - b * kBlockRows),
                         blocks.data() + b * shape.block_bytes());
    }
    return blocks;
}

} // namespace

void quantize_matrix(WeightMatrix& w, Quant q) {
    if (q == Quant::none || w.quant != Quant::none || w.empty() || !can_quantize(w.cols)) return;
    const QuantBlockShape shape{q, w.rows, w.cols};
    const int64_t         C = w.cols, G = shape.groups(), row_bytes = shape.row_bytes();
    // Four rows at a time into a row-major buffer of the thread, then into their block.
    OwnedBytes blocks = pack_blocks(shape, [&](int64_t b) {
        static thread_local std::vector<float>   row;
        static thread_local std::vector<uint8_t> data;
        static thread_local std::vector<float>   scales;
        row.resize(size_t(C));
        data.resize(size_t(kBlockRows * row_bytes));
        scales.resize(size_t(kBlockRows * G));
        for (int64_t k = 0; k < kBlockRows && b * kBlockRows + k < w.rows; ++k)
            quantize_row_of(w, b * kBlockRows + k, q, row.data(), data.data() + k * row_bytes, scales.data() + k * G);
        return std::pair<const uint8_t*, const float*>(data.data(), scales.data());
    });
    // The dense source pages (mapped from the file) are not needed any more: drop them now, so quantising a
    // 20 GB checkpoint never holds both forms in memory.
    if (w.owned.empty()) drop_mapped_pages(w.data, uint64_t(w.rows * C) * dtype_size(w.dtype));
    w.owned = std::move(blocks);
    w.data  = w.owned.data();
    w.quant = q;
}

WeightMatrix pack_quantized_rows(Quant q, const uint8_t* data, const float* scales, int64_t rows, int64_t cols) {
    const QuantBlockShape shape{q, rows, cols};
    const int64_t         G = shape.groups(), row_bytes = shape.row_bytes();
    WeightMatrix          w;
    w.quant = q;
    w.dtype = q == Quant::q8 ? DType::i8 : DType::u8;
    w.rows  = rows;
    w.cols  = cols;
    w.owned = pack_blocks(shape, [&](int64_t b) {
        return std::pair(data + b * kBlockRows * row_bytes, scales + b * kBlockRows * G);
    });
    w.data = w.owned.data();
    return w;
}

void weight_row_to_f32(const WeightMatrix& w, int64_t r, float* out) {
    const int64_t n = w.cols;
    if (w.quant != Quant::none) {
        dequantize_block_row(block_shape(w), w.data, r, out);
        return;
    }
    switch (w.dtype) {
    case DType::bf16: widen_bf16_row(reinterpret_cast<const uint16_t*>(w.data) + r * n, n, out); break;
    case DType::f32: std::memcpy(out, reinterpret_cast<const float*>(w.data) + r * n, size_t(n) * 4); break;
    case DType::f16: {
        const uint16_t* s = reinterpret_cast<const uint16_t*>(w.data) + r * n;
        for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(s[i]);
        break;
    }
    default:
        std::fill(out, out + n, 0.f); // unreachable: dtypes are validated at load
    }
}

namespace {

float dot_f32(const float* x, const float* w, int64_t n) {
    float acc = 0.f;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < n; ++i) acc += x[i] * w[i];
    return acc;
}

// Floats in one widened slab: 8 M (32 MB) unless GLMV_GEMM_SLAB_MB says otherwise (a measurement
// switch: each slab is one oneDNN product, which repacks the whole prompt's activations, so fewer and larger slabs
// trade that repacking against the slab's stay in cache).
int64_t widening_slab_floats() {
    static const int64_t floats = [] {
        const char* env = std::getenv("GLMV_GEMM_SLAB_MB");
        const long  mb  = env ? std::atol(env) : 0;
        return mb > 0 ? (int64_t(mb) << 20) / 4 : int64_t(8) << 20;
    }();
    return floats;
}

// Rounds n floats to bf16 (to nearest even, as f32_to_bf16; NaN stays NaN).
void        narrow_to_bf16_portable(const float* x, int64_t n, uint16_t* out) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
        uint32_t u;
        std::memcpy(&u, &x[i], 4);
        const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        out[i]                 = uint16_t((u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u : rounded);
    }
}

// The same with vcvtne2ps2bf16, 32 values per instruction, where the CPU has AVX512-BF16 (which bf16 products need
// anyway): every slab of q8/q4 weights is rounded before its bf16 product, and with the portable loop (baseline
// x86-64 code) those products ran 1.5x slower than on bf16 weights on the 16-core host. The instruction also rounds
// to nearest even; it reads denormal inputs as zero, which a product does not notice.
__attribute__((target("avx512f,avx512bf16"))) void narrow_to_bf16_avx512(const float* x, int64_t n, uint16_t* out) {
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
        _mm512_storeu_si512(out + i, reinterpret_cast<__m512i>(b));
    }
    narrow_to_bf16_portable(x + i, n - i, out + i);
}

void narrow_to_bf16(const float* x, int64_t n, uint16_t* out) {
    static const bool avx512_bf16 = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512bf16") != 0;
    }();
    if (avx512_bf16)
        narrow_to_bf16_avx512(x, n, out);
    else
        narrow_to_bf16_portable(x, n, out);
}

// narrow_to_bf16 over n values in parallel (the input rows of a product).
void narrow_to_bf16_parallel(const float* x, int64_t n, uint16_t* out) {
    constexpr int64_t piece = 1 << 16;
#pragma omp parallel for schedule(static) if (n > piece)
    for (int64_t p = 0; p < (n + piece - 1) / piece; ++p)
        narrow_to_bf16(x + p * piece, std::min(piece, n - p * piece), out + p * piece);
}

// Matrix-matrix in bf16 products (WeightMatrix::bf16_products): the input rows rounded to bf16 once, bf16 weights
// multiplied where they are mapped, other formats dequantised and narrowed to bf16 one slab of rows at a time (the
// same 32 MB as the fp32 slabs below, twice the rows). False if oneDNN cannot run it here.
bool linear_gemm_bf16(const float* x, int64_t M, const WeightMatrix& w, float* y) {
    const int64_t                                                        N = w.rows, K = w.cols;
    static thread_local std::vector<uint16_t, NoInitAllocator<uint16_t>> x_bf16;
    x_bf16.resize(size_t(M * K));
    narrow_to_bf16_parallel(x, M * K, x_bf16.data());
    if (w.quant == Quant::none && w.dtype == DType::bf16)
        return gemm_bf16(M, N, K, x_bf16.data(), K, reinterpret_cast<const uint16_t*>(w.data), y, N);
    const int64_t slab_rows = std::min(N, std::max<int64_t>(64, widening_slab_floats() * 2 / K / 64 * 64));
    static thread_local std::vector<uint16_t, NoInitAllocator<uint16_t>> slab;
    slab.resize(size_t(slab_rows * K));
    uint16_t* const buffer = slab.data(); // workers below reach the caller's buffer through this pointer
    static thread_local OwnedFloats slab_out;
    if (slab_rows < N) slab_out.resize(size_t(M * slab_rows));
    for (int64_t n0 = 0; n0 < N; n0 += slab_rows) {
        const int64_t nb = std::min(slab_rows, N - n0);
#pragma omp parallel
        {
            std::vector<float> row(static_cast<size_t>(K));
#pragma omp for schedule(static)
            for (int64_t r = 0; r < nb; ++r) {
                weight_row_to_f32(w, n0 + r, row.data());
                narrow_to_bf16(row.data(), K, buffer + r * K);
            }
        }
        // Into y when the slab is the whole matrix, else into a dense buffer copied out after: with the output's
        // row stride oneDNN left its AMX/AVX512-BF16 kernels (brgemm) for gemm:jit, which on the 16-core host ran
        // these products at a fraction of the AMX rate.
        float* const out = nb == N ? y : slab_out.data();
        if (!gemm_bf16(M, nb, K, x_bf16.data(), K, buffer, out, nb)) return false;
        if (out != y) {
#pragma omp parallel for schedule(static)
            for (int64_t m = 0; m < M; ++m)
                std::memcpy(y + m * N + n0, out + m * nb, size_t(nb) * 4);
        }
    }
    return true;
}

// Matrix-matrix through oneDNN (gemm.h). Weights not stored as fp32 (bf16 as mapped, f16, q8/q4) are widened one
// slab of rows at a time into a buffer of the calling thread, about 32 MB, so no fp32 copy of the model is ever
// made; for the prompt lengths this path serves, widening costs a small fraction of the multiply (each weight is
// used M times). False if oneDNN cannot run here.
bool linear_gemm(const float* x, int64_t M, const WeightMatrix& w, float* y) {
    if (w.bf16_products && linear_gemm_bf16(x, M, w, y)) return true;
    const int64_t N = w.rows, K = w.cols;
    GemmOperands op;
    op.a = x, op.lda = K, op.ldb = K, op.b_columns = true, op.ldc = N;
    if (w.quant == Quant::none && w.dtype == DType::f32) {
        op.b = reinterpret_cast<const float*>(w.data), op.c = y;
        return gemm_f32(M, N, K, op);
    }
    // On AMD CPUs oneDNN lays the weights out for its product itself (gemm.h): bf16 straight from the file, q8/q4
    // (and f16) from the dequantised slab.
    const bool reorder = prefer_reordered_weights();
    if (reorder && w.quant == Quant::none && w.dtype == DType::bf16 &&
        gemm_bf16_weights(M, N, K, x, K, reinterpret_cast<const uint16_t*>(w.data), y, N))
        return true;
    const int64_t slab_rows = std::min(N, std::max<int64_t>(64, widening_slab_floats() / K / 64 * 64));
    static thread_local std::vector<float> slab;
    slab.resize(size_t(slab_rows * K));
    float* const buffer = slab.data(); // workers below reach the caller's buffer through this pointer
    for (int64_t n0 = 0; n0 < N; n0 += slab_rows) {
        const int64_t nb = std::min(slab_rows, N - n0);
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < nb; ++r) weight_row_to_f32(w, n0 + r, buffer + r * K);
        op.b = buffer, op.c = y + n0;
        if (reorder ? !gemm_f32_weights_reordered(M, nb, K, x, K, buffer, y + n0, N) : !gemm_f32(M, nb, K, op))
            return false;
    }
    return true;
}

// The engine's own matrix-matrix path, used only where oneDNN cannot run: tiles of 64 weight rows widened to fp32,
// multiplied against all M rows by Eigen.
void linear_eigen(const float* x, int64_t M, const WeightMatrix& w, float* y) {
    const int64_t N = w.rows, K = w.cols;
    const int64_t TN      = 64;
    const int64_t n_tiles = (N + TN - 1) / TN;
    MapConst      X(x, M, K, Eigen::OuterStride<>(K));
#pragma omp parallel
    {
        std::vector<float> tile(size_t(TN * K));
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < n_tiles; ++t) {
            const int64_t n0 = t * TN, nb = std::min(TN, N - n0);
            for (int64_t r = 0; r < nb; ++r) weight_row_to_f32(w, n0 + r, tile.data() + r * K);
            MapConst Wt(tile.data(), nb, K, Eigen::OuterStride<>(K));
            MapMut   Y(y + n0, M, nb, Eigen::OuterStride<>(N));
            Y.noalias() = X * Wt.transpose();
        }
    }
}

} // namespace

// Up to this many input rows, linear() runs the matrix-vector kernels once per row instead of a matrix product on
// widened weights: widening reads 2 bytes and writes and rereads 8 per weight, which few rows cannot amortise, and
// the int8 kernels of q8/q4 (64 products per instruction) outrun fp32 products. Crossovers measured on the 2-core VM
// with the M4 model (prefill tokens/s, vector kernels vs matrix product): bf16 55 vs 39 at 64 rows, 64 vs 82 at
// 128; q4 121 vs 96 at 128, 129 vs 121 at 256, 116 vs 132 at 512; q8 108 vs 40 at 64.
constexpr int64_t kMaxGemvRows     = 128; // q8/q4
constexpr int64_t kMaxGemvRowsBf16 = 64;
static int64_t    max_vector_rows(const WeightMatrix& w) { return w.quant != Quant::none ? kMaxGemvRows : kMaxGemvRowsBf16; }

namespace {

bool takes_vector_path(const WeightMatrix& w, int64_t M) {
    return M <= max_vector_rows(w) && (w.quant != Quant::none || w.dtype == DType::bf16);
}

GemvWeights gemv_kind(const WeightMatrix& w) {
    return w.quant == Quant::q8 ? GemvWeights::q8 : w.quant == Quant::q4 ? GemvWeights::q4 : GemvWeights::bf16;
}

// Matrix-vector (decode, and prompts of a few tokens): bandwidth-bound, one pass over the weights from memory. The
// targets share the input, its width and the weight format (checked by the callers); each vector is prepared once
// for the kernel this CPU runs (gemv.h), and the rows of all targets go out in one parallel loop.
void gemv_path(const float* x, int64_t M, std::span<const LinearTarget> targets) {
    const int64_t     K    = targets[0].w->cols;
    const GemvWeights kind = gemv_kind(*targets[0].w);
    // Per calling thread (the engine may run on several threads); the workers below read the caller's copy
    // through this pointer — naming the thread_local inside the parallel region would give each worker its own.
    static thread_local GemvVector prepared[kMaxGemvRows];
    GemvVector* const              vec = prepared;
#pragma omp parallel for schedule(static) if (M > 1)
    for (int64_t m = 0; m < M; ++m)
        gemv_prepare(x + m * K, K, kind, vec[m]);
    // Rows go out in 16-row units to whichever thread is free, in guided chunks (large while much is left,
    // down to one unit at the end): on the 16-core host a static split left threads waiting for the slowest one
    // (dynamic chunks decoded 12 % (bf16) to 31 % (q4) faster), and guided chunks beat fixed ones of 8 units
    // (about an eighth of a thread's share, which left threads idle at the end): M4 decode 120/125 against
    // 92/107 tokens/s in q4, 66 against 52 in q8 (docs/performance.md). With several vectors, each unit (at
    // most 440 KB of weights at the 9B's widest rows) serves them all in turn, so the second and later vectors
    // find it in L2 instead of reading the weights from memory again. A unit is four blocks of q8/q4 rows
    // (quant_blocks.h); the padding rows of a matrix's last block are computed into a scratch row and dropped.
    constexpr int64_t unit = 16;
    static_assert(unit % kBlockRows == 0);
    auto rows = [&](const LinearTarget& t, int64_t n0, int64_t n1) {
        const WeightMatrix& w = *t.w;
        const int64_t       N = w.rows;
        for (int64_t m = 0; m < M; ++m) {
            float* ym = t.y + m * N + n0;
            if (kind == GemvWeights::bf16) {
                gemv_bf16_rows(vec[m], reinterpret_cast<const uint16_t*>(w.data) + n0 * K, n1 - n0, ym);
            } else {
                const QuantBlockShape shape = block_shape(w);
                const int64_t         b0 = n0 / kBlockRows, whole = (n1 - n0) / kBlockRows;
                const uint8_t*        blk = w.data + b0 * shape.block_bytes();
                auto product = kind == GemvWeights::q8 ? gemv_q8_blocks : gemv_q4_blocks;
                product(vec[m], blk, whole, ym);
                if (const int64_t rest = (n1 - n0) % kBlockRows) {
                    float last[kBlockRows];
                    product(vec[m], blk + whole * shape.block_bytes(), 1, last);
                    std::copy_n(last, rest, ym + whole * kBlockRows);
                }
            }
            if (t.bias)
                for (int64_t n = n0; n < n1; ++n)
                    ym[n - n0] += t.bias[n];
        }
    };
    // Units are numbered across the targets: target i owns [first[i], first[i + 1]).
    std::vector<int64_t> first(targets.size() + 1, 0);
    for (size_t i = 0; i < targets.size(); ++i)
        first[i + 1] = first[i] + (targets[i].w->rows + unit - 1) / unit;
#pragma omp parallel for schedule(guided, 1)
    for (int64_t u = 0; u < first.back(); ++u) {
        size_t i = 0;
        while (u >= first[i + 1])
            ++i;
        const int64_t n0 = (u - first[i]) * unit;
        rows(targets[i], n0, std::min(targets[i].w->rows, n0 + unit));
    }
}

} // namespace

void linear(const float* x, int64_t M, const WeightMatrix& w, const float* bias, float* y) {
    const int64_t N = w.rows, K = w.cols;
    if (M <= 0 || N <= 0) return;
    if (takes_vector_path(w, M)) {
        const LinearTarget t{&w, bias, y};
        gemv_path(x, M, {&t, 1});
        return;
    }
    if (M <= 2 && w.dtype == DType::f32) {
#pragma omp parallel for schedule(static)
        for (int64_t n = 0; n < N; ++n)
            for (int64_t m = 0; m < M; ++m)
                y[m * N + n] = dot_f32(x + m * K, reinterpret_cast<const float*>(w.data) + n * K, K) + (bias ? bias[n] : 0.f);
        return;
    }
    if (!linear_gemm(x, M, w, y)) linear_eigen(x, M, w, y);
    if (bias) {
#pragma omp parallel for schedule(static) if (M * N > 65536)
        for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < N; ++n) y[m * N + n] += bias[n];
    }
}

void linear_shared_input(const float* x, int64_t M, std::span<const LinearTarget> targets) {
    if (M <= 0 || targets.empty()) return;
    bool together = true;
    for (const LinearTarget& t : targets)
        together = together && t.w->rows > 0 && takes_vector_path(*t.w, M) && t.w->cols == targets[0].w->cols &&
                   gemv_kind(*t.w) == gemv_kind(*targets[0].w);
    if (!together) {
        for (const LinearTarget& t : targets)
            linear(x, M, *t.w, t.bias, t.y);
        return;
    }
    gemv_path(x, M, targets);
}

namespace {
// One row's RMS norm, Σ x² in double over eight independent partial sums. A single running sum is a chain of
// dependent additions that the compiler may not reorder: 4096 of them took 5 µs per row on the 16-core host, and a
// decode step of the 9B runs 160 norms on one core while the other threads wait (about 1 ms per token). Eight chains
// vectorise; the order of the additions differs from a single sum only in the last bits of a double. Compiled for
// AVX-512, AVX2 and baseline x86-64 and chosen at load by the CPU (GCC function multi-versioning), since the library
// is built for any x86-64.
__attribute__((target_clones("avx512f", "avx2", "default"))) void
rms_norm_row(const float* x, int64_t n, const float* weight, double eps, float* y) {
    double  part[8] = {};
    int64_t i       = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j)
            part[j] += double(x[i + j]) * x[i + j];
    double ss = 0;
    for (; i < n; ++i)
        ss += double(x[i]) * x[i];
    for (double p : part)
        ss += p;
    const float inv = float(1.0 / std::sqrt(ss / double(n) + eps));
    for (i = 0; i < n; ++i)
        y[i] = weight[i] * (x[i] * inv);
}
} // namespace

void rms_norm(const float* x, int64_t M, int64_t n, const float* weight, double eps, float* y) {
#pragma omp parallel for schedule(static) if (M > 8)
    for (int64_t m = 0; m < M; ++m) {
        const float* xr = x + m * n;
        float*       yr = y + m * n;
        rms_norm_row(xr, n, weight, eps, yr);
    }
}

void layer_norm(const float* x, int64_t M, int64_t n, const float* weight, const float* bias, double eps, float* y) {
#pragma omp parallel for schedule(static) if (M > 8)
    for (int64_t m = 0; m < M; ++m) {
        const float* xr   = x + m * n;
        float*       yr   = y + m * n;
        double       mean = 0;
        for (int64_t i = 0; i < n; ++i) mean += xr[i];
        mean /= double(n);
        double var = 0;
        for (int64_t i = 0; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
        var /= double(n);
        const double inv = 1.0 / std::sqrt(var + eps);
        for (int64_t i = 0; i < n; ++i) yr[i] = float((xr[i] - mean) * inv) * weight[i] + bias[i];
    }
}

void add_inplace(float* x, const float* a, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) x[i] += a[i];
}

namespace {

// e^x in plain float arithmetic that the compiler vectorises (std::exp is a scalar library call: with it SiLU took
// 0.8-1.0 ms of every 9B token on the 16-core host, 20-25 us per layer). x = k·ln2 + r with |r| <= ln2/2, e^r by
// its degree-6 Taylor polynomial (relative error below 2e-7, a few float ulps), 2^k put into the exponent bits.
// x is clamped to [-87, 88], where 2^k stays a normal float: e^-87 = 1.6e-38 (silu's 1 + e^-g is then exactly 1)
// and e^88 = 1.7e38 (g / (1 + e^88) is 0 to within 1e-36 for any g the model produces).
inline float exp_vectorisable(float x) {
    x                 = std::min(88.f, std::max(-87.f, x));
    const float round = 12582912.f; // 1.5·2^23: adding and taking it off rounds to an integer, in any vector ISA
    const float k     = (x * 1.44269504088896341f + round) - round;
    const float r     = (x - k * 0.693359375f) - k * -2.12194440e-4f; // ln2 in two parts: k·hi is exact
    float       p     = 1.f / 720;
    p                 = p * r + 1.f / 120;
    p                 = p * r + 1.f / 24;
    p                 = p * r + 1.f / 6;
    p                 = p * r + 0.5f;
    p                 = p * r + 1.f;
    p                 = p * r + 1.f;
    const int32_t two = (int32_t(k) + 127) << 23;
    return p * std::bit_cast<float>(two);
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void silu_mul_range(const float* gate, const float* up,
                                                                                int64_t n, float* out) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        out[i]        = g / (1.f + exp_vectorisable(-g)) * up[i];
    }
}

} // namespace

void silu_mul(const float* gate, const float* up, int64_t n, float* out) {
    constexpr int64_t piece = 16384;
#pragma omp parallel for schedule(static) if (n > 4 * piece)
    for (int64_t b = 0; b < n; b += piece)
        silu_mul_range(gate + b, up + b, std::min(piece, n - b), out + b);
}

void gelu_erf_inplace(float* x, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.f + std::erf(x[i] * float(M_SQRT1_2)));
}

namespace {

// `rows` rows of `cols` floats at row stride `stride`, rounded to bf16 into out[rows, cols] (contiguous).
void        narrow_rows_to_bf16(const float* x, int64_t rows, int64_t cols, int64_t stride, uint16_t* out) {
#pragma omp parallel for schedule(static) if (rows * cols > 65536)
    for (int64_t r = 0; r < rows; ++r)
        narrow_to_bf16(x + r * stride, cols, out + r * cols);
}

// `rows` rows of `heads` × hd floats at row stride `stride`, rounded to bf16 head by head into out[heads][rows][hd]:
// each head's queries, keys or values dense, as oneDNN's AMX and AVX512-BF16 kernels (brgemm) want them. On rows
// of all heads (row stride heads × hd) oneDNN ran its older gemm:jit kernel instead, and bf16 attention was slower
// than fp32 on the 16-core host (vision 1 MP of the 9B 8.6 -> 10.0 s).
void narrow_heads_to_bf16(const float* x, int64_t rows, int64_t heads, int64_t hd, int64_t stride, uint16_t* out) {
#pragma omp parallel for collapse(2) schedule(static) if (rows * heads * hd > 65536)
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t r = 0; r < rows; ++r)
            narrow_to_bf16(x + r * stride + h * hd, hd, out + (h * rows + r) * hd);
}

// Long attention (prefill, the vision tower) as matrix products: per head, a block of query rows against every key it
// may see — scores by one oneDNN product, a row softmax, the weighted sum of values by a second product. The block
// has as many rows as fit in about 32 MB of scores, so memory stays O(rows · n_k), never n_q × n_k, and the softmax
// needs no running rescale because each row is complete. With AttentionShape::bf16_products, queries, keys and values
// are rounded to bf16 once and both products run in bf16 with fp32 sums; the softmax stays fp32 and its
// probabilities are rounded to bf16 for the second product (as the reference's bf16 attention does). False if
// oneDNN cannot run here.
bool attention_gemm(const float* q, const float* k, const float* v, float* out, const AttentionShape& s) {
    const int64_t hd = s.head_dim, group = s.n_head / s.n_head_kv;
    const int64_t QB    = std::clamp<int64_t>((int64_t(8) << 20) / std::max<int64_t>(1, s.n_k) / 16 * 16, 16, 1024);
    const float   scale = 1.f / std::sqrt(float(hd));
    // GLMV_BF16_ATTENTION=0 keeps this attention in fp32 under bf16 products (a measurement switch).
    static const bool bf16_allowed = [] {
        const char* env = std::getenv("GLMV_BF16_ATTENTION");
        return !(env && std::string(env) == "0");
    }();
    const bool                             bf16 = s.bf16_products && bf16_allowed;
    static thread_local std::vector<float> scores_buffer;
    scores_buffer.resize(size_t(std::min(QB, s.n_q) * s.n_k));
    float* const scores = scores_buffer.data(); // workers reach the caller's buffer through this pointer
    using Bf16s         = std::vector<uint16_t, NoInitAllocator<uint16_t>>;
    static thread_local Bf16s q16, k16, v16, p16;
    static thread_local std::vector<float> head_out_buffer;
    float*                                 head_out = nullptr; // workers reach the caller's buffer through this
    const int64_t             QD = s.n_head * hd, KD = s.n_head_kv * hd;
    if (bf16) {
        q16.resize(size_t(s.n_q * QD)), k16.resize(size_t(s.n_k * KD)), v16.resize(size_t(s.n_k * KD));
        p16.resize(scores_buffer.size());
        head_out_buffer.resize(size_t(std::min(QB, s.n_q) * hd));
        head_out = head_out_buffer.data();
        narrow_heads_to_bf16(q, s.n_q, s.n_head, hd, s.q_stride, q16.data());
        narrow_heads_to_bf16(k, s.n_k, s.n_head_kv, hd, s.k_stride, k16.data());
        narrow_heads_to_bf16(v, s.n_k, s.n_head_kv, hd, s.v_stride, v16.data());
    }
    for (int64_t h = 0; h < s.n_head; ++h) {
        const int64_t kvh = h / group;
        for (int64_t q0 = 0; q0 < s.n_q; q0 += QB) {
            const int64_t nq    = std::min(QB, s.n_q - q0);
            const int64_t k_end = s.causal ? std::min(s.n_k, s.q_offset + q0 + nq) : s.n_k;
            if (bf16) {
                GemmOperandsBf16 qk;
                qk.a = q16.data() + (h * s.n_q + q0) * hd, qk.lda = hd;
                qk.b = k16.data() + kvh * s.n_k * hd, qk.ldb = hd, qk.b_columns = true;
                qk.c = scores, qk.ldc = k_end;
                if (!gemm_bf16_operands(nq, k_end, hd, qk, scale)) return false;
            } else {
                GemmOperands qk;
                qk.a = q + q0 * s.q_stride + h * hd, qk.lda = s.q_stride;
                qk.b = k + kvh * hd, qk.ldb = s.k_stride, qk.b_columns = true;
                qk.c = scores, qk.ldc = k_end;
                if (!gemm_f32(nq, k_end, hd, qk, scale)) return false;
            }
            if (s.causal) {
                // Query q_offset + q0 + i sees keys up to its own position.
#pragma omp parallel for schedule(static)
                for (int64_t i = 0; i < nq; ++i)
                    std::fill(scores + i * k_end + std::min(k_end, s.q_offset + q0 + i + 1), scores + (i + 1) * k_end,
                              -std::numeric_limits<float>::infinity());
            }
            if (!softmax_rows(scores, nq, k_end)) return false;
            if (bf16) {
                narrow_rows_to_bf16(scores, nq, k_end, k_end, p16.data());
                GemmOperandsBf16 pv;
                pv.a = p16.data(), pv.lda = k_end;
                pv.b = v16.data() + kvh * s.n_k * hd, pv.ldb = hd, pv.b_columns = false;
                pv.c = head_out, pv.ldc = hd; // dense: with the output's row stride oneDNN left brgemm for gemm:jit
                if (!gemm_bf16_operands(nq, hd, k_end, pv)) return false;
#pragma omp parallel for schedule(static) if (nq * hd > 65536)
                for (int64_t i = 0; i < nq; ++i)
                    std::memcpy(out + (q0 + i) * s.out_stride + h * hd, head_out + i * hd, size_t(hd) * 4);
            } else {
                GemmOperands pv;
                pv.a = scores, pv.lda = k_end;
                pv.b = v + kvh * hd, pv.ldb = s.v_stride, pv.b_columns = false;
                pv.c = out + q0 * s.out_stride + h * hd, pv.ldc = s.out_stride;
                if (!gemm_f32(nq, hd, k_end, pv)) return false;
            }
        }
    }
    return true;
}

} // namespace

void attention(const float* q, const float* k, const float* v, float* out, const AttentionShape& s) {
    // Decode (one query row) has its own split-K kernel (attention_decode.h; a oneDNN product per KV head was measured
    // slower: the cache length changes every token, so every token compiles new kernels). From 64 query rows on, the
    // products are large enough for oneDNN. Short turns keep the blocked path below.
    if (s.n_q == 1 && attention_decode(q, k, v, out, s)) return;
    if (s.n_q >= 64 && attention_gemm(q, k, v, out, s)) return;
    // Blocks of QB query rows per (head) task: scores QB × KB at a time with an online softmax, so memory is
    // O(QB · KB) per thread whatever the context length.
    const int64_t QB = 32, KB = 256;
    const int64_t hd = s.head_dim, group = s.n_head / s.n_head_kv;
    const int64_t n_qblocks = (s.n_q + QB - 1) / QB;
    const float   scale     = 1.f / std::sqrt(float(hd));
#pragma omp parallel
    {
        RowMatrix          scores(QB, KB);
        RowMatrix          acc(QB, hd);
        std::vector<float> row_max(QB), row_sum(QB);
#pragma omp for collapse(2) schedule(dynamic, 1)
        for (int64_t h = 0; h < s.n_head; ++h) {
            for (int64_t qb = 0; qb < n_qblocks; ++qb) {
                const int64_t kvh = h / group;
                const int64_t q0 = qb * QB, nq = std::min(QB, s.n_q - q0);
                MapConst      Q(q + q0 * s.q_stride + h * hd, nq, hd, Eigen::OuterStride<>(s.q_stride));
                // Last key any row of this block may see.
                const int64_t k_end = s.causal ? std::min(s.n_k, s.q_offset + q0 + nq) : s.n_k;
                std::fill(row_max.begin(), row_max.end(), -std::numeric_limits<float>::infinity());
                std::fill(row_sum.begin(), row_sum.end(), 0.f);
                acc.topRows(nq).setZero();
                for (int64_t k0 = 0; k0 < k_end; k0 += KB) {
                    const int64_t nk = std::min(KB, k_end - k0);
                    MapConst      K(k + k0 * s.k_stride + kvh * hd, nk, hd, Eigen::OuterStride<>(s.k_stride));
                    MapConst      V(v + k0 * s.v_stride + kvh * hd, nk, hd, Eigen::OuterStride<>(s.v_stride));
                    auto          S = scores.topLeftCorner(nq, nk);
                    S.noalias()     = (Q * K.transpose()) * scale;
                    for (int64_t i = 0; i < nq; ++i) {
                        // Causal: query (q_offset + q0 + i) sees keys ≤ its own position.
                        const int64_t last = s.causal ? s.q_offset + q0 + i - k0 : nk - 1;
                        float         m    = row_max[i];
                        for (int64_t j = 0; j < nk; ++j) {
                            if (j > last) S(i, j) = -std::numeric_limits<float>::infinity();
                            else m = std::max(m, S(i, j));
                        }
                        if (m == -std::numeric_limits<float>::infinity()) { // row sees nothing yet
                            S.row(i).setZero();
                            continue;
                        }
                        const float corr = std::exp(row_max[i] - m);
                        float       sum  = 0.f;
                        for (int64_t j = 0; j < nk; ++j) {
                            const float e = (j > last) ? 0.f : std::exp(S(i, j) - m);
                            S(i, j)       = e;
                            sum += e;
                        }
                        row_sum[i] = row_sum[i] * corr + sum;
                        row_max[i] = m;
                        acc.row(i) *= corr;
                    }
                    acc.topRows(nq).noalias() += S * V;
                }
                for (int64_t i = 0; i < nq; ++i) {
                    float* o   = out + (q0 + i) * s.out_stride + h * hd;
                    float  inv = row_sum[i] > 0 ? 1.f / row_sum[i] : 0.f;
                    for (int64_t d = 0; d < hd; ++d) o[d] = acc(i, d) * inv;
                }
            }
        }
    }
}

} // namespace glmv::ops
