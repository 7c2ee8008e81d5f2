// linear() and attention() — the products prefill, decode and the vision tower run — against double-precision
// references, across every path they choose between: matrix-vector kernels (M ≤ 64 bf16, ≤ 128 q8/q4), oneDNN matrix-matrix products
// on weights widened slab by slab (several slabs when rows are long), the split-K attention of decode (each compiled
// variant the CPU can run), the blocked attention of short turns, and the matrix-product attention of long prompts
// (several query blocks, causal with cached keys, GQA).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../../inference/src/ops/attention_decode.h"
#include "../../inference/src/ops/cpu_topology.h"
#include "../../inference/src/ops/gemm.h"
#include "../../inference/src/ops/kernels.h"
#include "../../inference/src/ops/ops.h"
#include "glmv/inference/safetensors.h"
#include "test_util.h"

using namespace glmv;
using glmv::test::randn;

namespace {

// A weight matrix of the given storage, with its own bytes.
struct TestWeight {
    std::vector<float>    f32;
    std::vector<uint16_t> bf16;
    ops::WeightMatrix     w;
};

TestWeight make_weight(int64_t rows, int64_t cols, const std::string& kind, uint64_t seed) {
    TestWeight t;
    t.f32 = randn(size_t(rows * cols), seed);
    t.w.rows = rows, t.w.cols = cols;
    if (kind == "f32") {
        t.w.dtype = DType::f32;
        t.w.data  = reinterpret_cast<const uint8_t*>(t.f32.data());
        return t;
    }
    t.bf16.resize(t.f32.size());
    for (size_t i = 0; i < t.f32.size(); ++i) t.bf16[i] = f32_to_bf16(t.f32[i]);
    t.w.dtype = DType::bf16;
    t.w.data  = reinterpret_cast<const uint8_t*>(t.bf16.data());
    t.w.owned.assign(t.w.data, t.w.data + t.bf16.size() * 2); // owned, so quantising does not drop "mapped" pages
    t.w.data = t.w.owned.data();
    if (kind == "q8") ops::quantize_matrix(t.w, ops::Quant::q8);
    if (kind == "q4") ops::quantize_matrix(t.w, ops::Quant::q4);
    return t;
}

// y = x · Wᵀ + bias in double, from the weights as the engine stores them (so quantisation error is not counted).
std::vector<double> reference_linear(const std::vector<float>& x, int64_t M, const ops::WeightMatrix& w,
                                     const std::vector<float>& bias) {
    std::vector<double> y(size_t(M * w.rows));
    std::vector<float>  row(size_t(w.cols));
    for (int64_t n = 0; n < w.rows; ++n) {
        ops::weight_row_to_f32(w, n, row.data());
        for (int64_t m = 0; m < M; ++m) {
            double s = bias[size_t(n)];
            for (int64_t k = 0; k < w.cols; ++k) s += double(x[size_t(m * w.cols + k)]) * row[size_t(k)];
            y[size_t(m * w.rows + n)] = s;
        }
    }
    return y;
}

void expect_linear_matches(int64_t M, int64_t N, int64_t K, const std::string& kind) {
    SCOPED_TRACE(kind + " M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K));
    auto       t    = make_weight(N, K, kind, 10 + uint64_t(M));
    const auto x    = randn(size_t(M * K), 20 + uint64_t(M));
    const auto bias = randn(size_t(N), 30);
    std::vector<float> y(size_t(M * N), NAN);
    ops::linear(x.data(), M, t.w, bias.data(), y.data());
    const auto ref = reference_linear(x, M, t.w, bias);
    // Sums of K products of unit-variance terms: fp32 rounding grows like sqrt(K). The quantised matrix-vector
    // kernels (M ≤ 128) also quantise the vector to int8 per group of 32 for VNNI (gemv.h), about 0.5 % per element
    // (the worst of 8 × 1000 outputs reached 1.2 % of sqrt(K));
    // a wrong row or offset would still be off by the size of a whole sum (≈ sqrt(K)).
    const bool   int8_vector = (kind == "q4" || kind == "q8") && M <= 128;
    const double tol         = (int8_vector ? 3e-2 : 2e-5) * std::sqrt(double(K));
    double       worst = 0;
    for (size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::fabs(y[i] - ref[i]));
    EXPECT_LT(worst, tol);
}

} // namespace

TEST(Linear, EveryWeightFormatAndRowCountMatchesDoubleReference) {
    std::printf("oneDNN matmul kernel: %s\n", ops::gemm_impl());
    for (const char* kind : {"f32", "bf16", "q8", "q4"})
        for (int64_t M : {1, 2, 3, 17, 64, 65, 128, 130}) expect_linear_matches(M, 200, 96, kind);
}

// Several vectors through the matrix-vector kernels: each thread's rows go in blocks of 16 with every vector per
// block; 1000 rows give threads several blocks and a ragged last one.
TEST(Linear, FewRowsRunTheVectorKernelsBlockByBlock) {
    for (const char* kind : {"bf16", "q8", "q4"})
        for (int64_t M : {2, 5, 64}) expect_linear_matches(M, 1000, 128, kind);
}

// The engine's blocks of four quantised rows (quant_blocks.h): quantising at load puts exactly the row-major bytes of
// quantised folders (quantize_rows) into its blocks, every row comes back as the row-major dequantisation bit for
// bit, and the padding (rows past a multiple of 4, groups past a multiple of 4) adds nothing to a product.
TEST(Linear, QuantisedBlocksHoldTheRowMajorRows) {
    for (const auto q : {ops::Quant::q8, ops::Quant::q4})
        for (int64_t rows : {1, 3, 4, 9})
            for (int64_t cols : {32, 96, 160, 4096}) {
                SCOPED_TRACE(std::string(q == ops::Quant::q8 ? "q8" : "q4") + " rows=" + std::to_string(rows) +
                             " cols=" + std::to_string(cols));
                auto             t = make_weight(rows, cols, "bf16", uint64_t(rows * cols));
                ops::OwnedBytes  data;
                ops::OwnedFloats scales;
                ops::quantize_rows(t.w, q, data, scales);
                const ops::WeightMatrix packed = ops::pack_quantized_rows(q, data.data(), scales.data(), rows, cols);
                ops::quantize_matrix(t.w, q);
                ASSERT_EQ(t.w.bytes(), packed.bytes());
                ASSERT_EQ(0, std::memcmp(t.w.data, packed.data, size_t(packed.bytes())));
                const int64_t      G = cols / 32, row_bytes = q == ops::Quant::q8 ? cols : cols / 2;
                std::vector<float> got(static_cast<size_t>(cols)), want(static_cast<size_t>(cols));
                for (int64_t r = 0; r < rows; ++r) {
                    ops::weight_row_to_f32(packed, r, got.data());
                    if (q == ops::Quant::q8)
                        ops::dequantize_row_q8(reinterpret_cast<const int8_t*>(data.data()) + r * row_bytes,
                                               scales.data() + r * G, cols, want.data());
                    else
                        ops::dequantize_row_q4(data.data() + r * row_bytes, scales.data() + r * G, cols, want.data());
                    ASSERT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * 4)) << "row " << r;
                }
                // One product over the padded block form: NaN-free, and padding rows never written past `rows`.
                std::vector<float> x(size_t(cols), 1.f), y(size_t(rows) + 1, -7.f);
                ops::linear(x.data(), 1, packed, nullptr, y.data());
                EXPECT_EQ(y[size_t(rows)], -7.f) << "wrote past the last row";
                for (int64_t r = 0; r < rows; ++r) EXPECT_TRUE(std::isfinite(y[size_t(r)]));
            }
    // Ragged row counts through linear(), against the double reference.
    for (const char* kind : {"q8", "q4"})
        for (int64_t M : {1, 3}) expect_linear_matches(M, 203, 96, kind);
}

TEST(Linear, LongRowsAreWidenedInSeveralSlabs) {
    // 8 Mi floats per slab: rows of 65536 weights give slabs of 128 rows, so 300 rows take three slabs (65 rows: the
    // matrix product, not the vector kernels).
    expect_linear_matches(65, 300, 65536, "bf16");
}

// Weights laid out by oneDNN's reorder for its product (the path linear() takes on AMD CPUs; on others it widens row
// slabs itself, which the tests above cover there), from bf16 as mapped and from fp32 (a dequantised q8/q4 slab):
// 1300 rows are three slabs of up to 576, the last one ragged; C has a row stride wider than N, as when a caller
// writes into part of a wider matrix.
TEST(Linear, ReorderedWeightsMatchDoubleReference) {
    for (const char* source : {"bf16", "f32"})
        for (int64_t K : {96, 4096}) {
            SCOPED_TRACE(std::string(source) + " K=" + std::to_string(K));
            const int64_t            M = 70, N = 1300, ldc = N + 5;
            auto                     t = make_weight(N, K, source, 7);
            const auto               x = randn(size_t(M * K), 8);
            const std::vector<float> zero(size_t(N), 0.f);
            std::vector<float>       y(size_t(M * ldc), NAN);
            const bool               ran = std::string(source) == "bf16"
                                               ? ops::gemm_bf16_weights(M, N, K, x.data(), K,
                                                                        reinterpret_cast<const uint16_t*>(t.w.data), y.data(), ldc)
                                               : ops::gemm_f32_weights_reordered(
                                                     M, N, K, x.data(), K, reinterpret_cast<const float*>(t.w.data), y.data(), ldc);
            ASSERT_TRUE(ran);
            const auto ref   = reference_linear(x, M, t.w, zero);
            double     worst = 0;
            for (int64_t m = 0; m < M; ++m)
                for (int64_t n = 0; n < N; ++n)
                    worst = std::max(worst, std::fabs(y[size_t(m * ldc + n)] - ref[size_t(m * N + n)]));
            EXPECT_LT(worst, 2e-5 * std::sqrt(double(K)));
            for (int64_t m = 0; m < M; ++m) // the columns past N are not the product's
                for (int64_t n = N; n < ldc; ++n)
                    EXPECT_TRUE(std::isnan(y[size_t(m * ldc + n)]));
        }
}

// q, k and v from one input: bit for bit the same as three linear() calls, whether the three run in one loop (same
// format, vector path) or fall back to one call each (a bf16 matrix beside q4 ones, or too many rows).
TEST(Linear, SharedInputMatchesOneCallPerMatrix) {
    for (const char* kind : {"bf16", "q8", "q4"})
        for (int64_t M : {1, 3, 200}) {
            SCOPED_TRACE(std::string(kind) + " M=" + std::to_string(M));
            const int64_t           K = 96;
            auto                    q = make_weight(70, K, kind, 1), k = make_weight(16, K, kind, 2);
            auto                    v = make_weight(9, K, M == 3 ? "bf16" : kind, 3); // M=3: mixed formats fall back
            const auto              x = randn(size_t(M * K), 4), bq = randn(70, 5), bk = randn(16, 6);
            std::vector<float>      yq(size_t(M * 70)), yk(size_t(M * 16)), yv(size_t(M * 9));
            std::vector<float>      wq(yq.size()), wk(yk.size()), wv(yv.size());
            const ops::LinearTarget targets[] = {
                {&q.w, bq.data(), yq.data()}, {&k.w, bk.data(), yk.data()}, {&v.w, nullptr, yv.data()}};
            ops::linear_shared_input(x.data(), M, targets);
            ops::linear(x.data(), M, q.w, bq.data(), wq.data());
            ops::linear(x.data(), M, k.w, bk.data(), wk.data());
            ops::linear(x.data(), M, v.w, nullptr, wv.data());
            EXPECT_EQ(yq, wq);
            EXPECT_EQ(yk, wk);
            EXPECT_EQ(yv, wv);
        }
}

namespace {

struct AttentionCase {
    const char* name;
    int64_t     n_q, n_k, n_head, n_head_kv, head_dim;
    bool        causal;
    int64_t     q_offset;
};

// Softmax(q·kᵀ/√d)·v per head in double, rows padded by 8 floats to test the strides. With a decode variant named,
// that variant runs instead of attention()'s own choice.
// With bf16_products, attention's products run in bf16 (inputs and probabilities rounded): the error bound is then
// that of bf16 rounding, and an error as small as fp32's means the bf16 path did not run.
void expect_attention_matches(const AttentionCase&    c,
                              ops::DecodeAttentionIsa decode_isa    = ops::DecodeAttentionIsa::automatic,
                              bool                    bf16_products = false) {
    SCOPED_TRACE(c.name);
    ops::AttentionShape s;
    s.bf16_products = bf16_products;
    s.n_q = c.n_q, s.n_k = c.n_k, s.n_head = c.n_head, s.n_head_kv = c.n_head_kv, s.head_dim = c.head_dim;
    s.q_stride   = c.n_head * c.head_dim + 8;
    s.k_stride   = c.n_head_kv * c.head_dim + 8;
    s.v_stride   = c.n_head_kv * c.head_dim + 16;
    s.out_stride = c.n_head * c.head_dim + 4;
    s.causal = c.causal, s.q_offset = c.q_offset;
    const auto q = randn(size_t(s.n_q * s.q_stride), 1), k = randn(size_t(s.n_k * s.k_stride), 2),
               v = randn(size_t(s.n_k * s.v_stride), 3);
    std::vector<float> out(size_t(s.n_q * s.out_stride), NAN);
    if (decode_isa == ops::DecodeAttentionIsa::automatic)
        ops::attention(q.data(), k.data(), v.data(), out.data(), s);
    else
        ASSERT_TRUE(ops::attention_decode(q.data(), k.data(), v.data(), out.data(), s, decode_isa));

    const int64_t hd = c.head_dim, group = c.n_head / c.n_head_kv;
    double        worst = 0;
    for (int64_t h = 0; h < c.n_head; ++h)
        for (int64_t i = 0; i < c.n_q; ++i) {
            const int64_t       last = c.causal ? std::min(c.n_k - 1, c.q_offset + i) : c.n_k - 1;
            std::vector<double> p(size_t(last + 1));
            double              mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j <= last; ++j) {
                double d = 0;
                for (int64_t e = 0; e < hd; ++e)
                    d += double(q[size_t(i * s.q_stride + h * hd + e)]) * k[size_t(j * s.k_stride + h / group * hd + e)];
                p[size_t(j)] = d / std::sqrt(double(hd));
                mx           = std::max(mx, p[size_t(j)]);
            }
            for (double& x : p) sum += (x = std::exp(x - mx));
            for (int64_t e = 0; e < hd; ++e) {
                double o = 0;
                for (int64_t j = 0; j <= last; ++j) o += p[size_t(j)] * v[size_t(j * s.v_stride + h / group * hd + e)];
                worst = std::max(worst, std::fabs(o / sum - out[size_t(i * s.out_stride + h * hd + e)]));
            }
        }
    if (!bf16_products) {
        EXPECT_LT(worst, 2e-5);
        return;
    }
    EXPECT_LT(worst, 2e-2);
    EXPECT_GT(worst, 2e-4);
}

} // namespace

TEST(Attention, EveryPathMatchesDoubleReference) {
    const AttentionCase cases[] = {
        {"decode: one query against cached keys", 1, 77, 4, 2, 32, true, 76},
        {"decode: one query against a long cache, GQA", 1, 1000, 8, 2, 32, true, 999},
        {"short turn, blocked path", 40, 90, 4, 2, 32, true, 50},
        // Query blocks hold as many rows as fit in 8 Mi scores (at most 1024): these two take two blocks each.
        {"vision: full attention over many keys", 500, 20000, 2, 2, 32, false, 0},
        {"prefill: causal from the start, GQA", 1100, 1100, 4, 2, 32, true, 0},
        {"follow-up prefill after cached history", 100, 250, 4, 1, 32, true, 150},
    };
    for (const auto& c : cases) expect_attention_matches(c);
}

// Long attention in bf16 products (LoadParams::prompt_arithmetic) where oneDNN runs them natively.
TEST(Attention, Bf16ProductsStayWithinBf16Rounding) {
    if (!ops::native_bf16_products()) GTEST_SKIP() << "this CPU has no native bf16 products (AVX512-BF16 or AMX)";
    const AttentionCase cases[] = {
        {"vision: full attention over many keys", 500, 20000, 2, 2, 32, false, 0},
        {"prefill: causal from the start, GQA", 1100, 1100, 4, 2, 32, true, 0},
        {"follow-up prefill after cached history", 100, 250, 4, 1, 32, true, 150},
    };
    for (const auto& c : cases)
        expect_attention_matches(c, ops::DecodeAttentionIsa::automatic, true);
}

// Every compiled variant of the decode kernel this CPU can run, on shapes that exercise its split: one key, a
// cache shorter than a piece, many pieces with a ragged last one, the 9B's 16 query heads per KV head at
// head_dim 128, no grouping, a non-causal query, and more than 16 query heads per KV head.
TEST(Attention, DecodeKernelVariantsMatchDoubleReference) {
    const AttentionCase cases[] = {
        {"first token: a single key", 1, 1, 4, 2, 32, true, 0},
        {"short cache", 1, 20, 4, 2, 32, true, 19},
        {"9B heads, long cache, ragged last piece", 1, 5003, 32, 2, 128, true, 5002},
        {"cache longer than the query sees (causal)", 1, 300, 4, 4, 64, true, 150},
        {"non-causal", 1, 700, 6, 3, 16, false, 0},
        {"20 query heads per KV head (two sets of 16), head_dim not a multiple of 8", 1, 333, 40, 2, 20, true, 332},
    };
    std::vector<std::pair<ops::DecodeAttentionIsa, std::string>> variants = {{ops::DecodeAttentionIsa::portable, "portable"}};
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) variants.push_back({ops::DecodeAttentionIsa::avx2, "avx2"});
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        variants.push_back({ops::DecodeAttentionIsa::avx512, "avx512"});
    for (const auto& [isa, name] : variants) {
        SCOPED_TRACE(name);
        for (const auto& c : cases) expect_attention_matches(c, isa);
    }
    // Shapes it leaves to the general paths.
    ops::AttentionShape two_rows;
    two_rows.n_q = 2, two_rows.n_k = 4, two_rows.n_head = 2, two_rows.n_head_kv = 1, two_rows.head_dim = 8;
    float dummy[64] = {};
    EXPECT_FALSE(ops::attention_decode(dummy, dummy, dummy, dummy, two_rows));
}

// rms_norm against a double reference, rows of lengths around its eight-lane partial sums (and the 9B's width),
// in place and into another buffer: the vectorised row function must give the same values as the definition.
// silu(g)·u with the engine's vectorised e^x against double arithmetic, over the whole float range that matters and
// past its clamps (e^x is clamped to [e^-87, e^88]), at lengths around the vector widths and the threading pieces.
TEST(Activations, SiluMulMatchesDoubleReference) {
    for (int64_t n : {1, 15, 17, 1000, 70001}) {
        std::vector<float> g(static_cast<size_t>(n)), u(static_cast<size_t>(n)), y(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
            g[size_t(i)] = -120.f + 240.f * float(i) / float(std::max<int64_t>(1, n - 1)); // -120 .. 120
            u[size_t(i)] = 1.f + 0.001f * float(i % 97);
        }
        g[0] = n > 1 ? -1e-3f : 0.7f;
        ops::silu_mul(g.data(), u.data(), n, y.data());
        for (int64_t i = 0; i < n; ++i) {
            const double gd = g[size_t(i)], want = gd / (1.0 + std::exp(-gd)) * u[size_t(i)];
            ASSERT_NEAR(y[size_t(i)], want, 1e-6 * std::fabs(want) + 1e-30) << "n=" << n << " g=" << gd;
        }
    }
}

TEST(Norms, RmsNormMatchesDoubleReference) {
    for (int64_t n : {1, 7, 8, 9, 63, 4096}) {
        const int64_t      M = 3;
        std::vector<float> x = randn(size_t(M * n), 11 + uint64_t(n)), w = randn(size_t(n), 5), y(x.size());
        for (float& v : x)
            v *= 30.f; // values well away from 1, so a wrong scale shows
        ops::rms_norm(x.data(), M, n, w.data(), 1e-5, y.data());
        std::vector<float> in_place = x;
        ops::rms_norm(in_place.data(), M, n, w.data(), 1e-5, in_place.data());
        for (int64_t m = 0; m < M; ++m) {
            double ss = 0;
            for (int64_t i = 0; i < n; ++i)
                ss += double(x[size_t(m * n + i)]) * x[size_t(m * n + i)];
            const double inv = 1.0 / std::sqrt(ss / double(n) + 1e-5);
            for (int64_t i = 0; i < n; ++i) {
                const double ref = double(w[size_t(i)]) * double(x[size_t(m * n + i)]) * inv;
                EXPECT_NEAR(y[size_t(m * n + i)], ref, 1e-5 * (1 + std::abs(ref))) << "n " << n << " row " << m;
                EXPECT_EQ(in_place[size_t(m * n + i)], y[size_t(m * n + i)]);
            }
        }
    }
}

// Large blocks (mapped on a 2 MB boundary for huge pages) and small ones (heap) hold what is written, keep it when a
// vector grows across the threshold, and are given back whole.
TEST(LargeBlocks, HoldDataAcrossGrowthAndRelease) {
    for (size_t bytes : {size_t(100), size_t(4) << 20, (size_t(9) << 20) + 123}) {
        auto* p = static_cast<uint8_t*>(ops::large_block_allocate(bytes));
        ASSERT_NE(p, nullptr);
        if (bytes >= (size_t(4) << 20)) {
#if !defined(__SANITIZE_ADDRESS__)
            EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % (size_t(2) << 20), 0u) << bytes;
#endif
        }
        for (size_t i = 0; i < bytes; i += 997)
            p[i] = uint8_t(i);
        p[bytes - 1] = 0x5a;
        for (size_t i = 0; i < bytes; i += 997)
            ASSERT_EQ(p[i], uint8_t(i));
        EXPECT_EQ(p[bytes - 1], 0x5a);
        ops::large_block_release(p, bytes);
    }
    ops::OwnedFloats v(1000);
    for (size_t i = 0; i < v.size(); ++i)
        v[i] = float(i);
    v.resize(3'000'000); // 12 MB: moves from the heap to a mapped block
    for (size_t i = 0; i < 1000; ++i)
        ASSERT_EQ(v[i], float(i));
    v[2'999'999] = 7.f;
    v.resize(10);
    v.shrink_to_fit(); // back to the heap
    for (size_t i = 0; i < 10; ++i)
        ASSERT_EQ(v[i], float(i));
}

// The default thread count's core census over a sysfs-like tree: SMT siblings count once, a CPU without topology
// files makes the count unknown (0), CPUs outside the affinity mask are not looked at.
TEST(CpuTopology, CountsEachPhysicalCoreOnce) {
    namespace fs        = std::filesystem;
    const fs::path root = fs::temp_directory_path() / ("glmv-cpu-" + std::to_string(::getpid()));
    auto           cpu  = [&](int n, const std::string& file, const std::string& siblings) {
        const fs::path dir = root / ("cpu" + std::to_string(n)) / "topology";
        fs::create_directories(dir);
        std::ofstream(dir / file) << siblings << "\n";
    };
    // Four cores with two threads each (siblings n and n + 4), as sysfs lists them; cpu7 on an older kernel's name.
    for (int n = 0; n < 7; ++n)
        cpu(n, "core_cpus_list", std::to_string(n % 4) + "," + std::to_string(n % 4 + 4));
    cpu(7, "thread_siblings_list", "3,7");
    EXPECT_EQ(ops::physical_cores(root.string(), {0, 1, 2, 3, 4, 5, 6, 7}), 4);
    EXPECT_EQ(ops::physical_cores(root.string(), {0, 4}), 1);
    EXPECT_EQ(ops::physical_cores(root.string(), {0, 1}), 2);
    EXPECT_EQ(ops::physical_cores(root.string(), {0, 8}), 0); // cpu8 has no topology here
    fs::remove_all(root);
    // On this machine: a count no larger than the CPUs it may use.
    const auto cpus = ops::allowed_cpus();
    ASSERT_FALSE(cpus.empty());
    EXPECT_LE(ops::physical_cores("/sys/devices/system/cpu", cpus), int(cpus.size()));
}
