// The dispatched SIMD kernels against their naive references, on awkward lengths.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "../../inference/src/ops/gemv.h"
#include "../../inference/src/ops/kernels.h"
#include "../../inference/src/ops/quant_blocks.h"
#include "glmv/inference/safetensors.h"
#include "test_util.h"

using namespace glmv;
using glmv::test::randn;

TEST(Kernels, Bf16DotMatchesReferenceForEveryLength) {
    std::printf("kernel ISA: %s\n", ops::kernel_isa());
    for (int64_t n : {1, 7, 16, 31, 32, 33, 100, 128, 4096, 13696}) {
        auto                  x = randn(size_t(n), 1), wf = randn(size_t(n), 2);
        std::vector<uint16_t> w(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) w[size_t(i)] = f32_to_bf16(wf[size_t(i)]);
        const float ref = ops::reference_dot_bf16(x.data(), w.data(), n);
        EXPECT_NEAR(ops::dot_bf16(x.data(), w.data(), n), ref, 1e-4 * std::sqrt(double(n)) + 1e-5) << n;
        std::vector<float> widened(static_cast<size_t>(n));
        ops::widen_bf16_row(w.data(), n, widened.data());
        for (int64_t i = 0; i < n; ++i) EXPECT_EQ(widened[size_t(i)], bf16_to_f32(w[size_t(i)]));
    }
}

TEST(Kernels, QuantisedDotsMatchReferenceAndRoundTripClosely) {
    for (int64_t n : {32, 64, 4096, 13696}) {
        auto                 x = randn(size_t(n), 3), w = randn(size_t(n), 4);
        std::vector<int8_t>  q8(static_cast<size_t>(n));
        std::vector<uint8_t> q4(static_cast<size_t>(n / 2));
        std::vector<float>   s8(static_cast<size_t>(n / 32)), s4(static_cast<size_t>(n / 32)), back(static_cast<size_t>(n));
        ops::quantize_row_q8(w.data(), n, q8.data(), s8.data());
        ops::quantize_row_q4(w.data(), n, q4.data(), s4.data());
        EXPECT_NEAR(ops::dot_q8(x.data(), q8.data(), s8.data(), n), ops::reference_dot_q8(x.data(), q8.data(), s8.data(), n),
                    1e-3 * std::sqrt(double(n)));
        EXPECT_NEAR(ops::dot_q4(x.data(), q4.data(), s4.data(), n), ops::reference_dot_q4(x.data(), q4.data(), s4.data(), n),
                    1e-3 * std::sqrt(double(n)));
        // Round-trip error: half a step for q8; for q4 a step (the extreme of a group may clip at level 7).
        ops::dequantize_row_q8(q8.data(), s8.data(), n, back.data());
        for (int64_t i = 0; i < n; ++i) EXPECT_LE(std::fabs(back[size_t(i)] - w[size_t(i)]), 0.5f * s8[size_t(i / 32)] + 1e-6f);
        ops::dequantize_row_q4(q4.data(), s4.data(), n, back.data());
        for (int64_t i = 0; i < n; ++i)
            EXPECT_LE(std::fabs(back[size_t(i)] - w[size_t(i)]), 1.5f * std::fabs(s4[size_t(i / 32)]) + 1e-6f);
    }
}

// Every instruction set's dequantiser gives exactly level × scale, with q4's layout (byte j of a group: low nibble is
// value j, high nibble value j + 16, both stored plus 8).
TEST(Kernels, DequantisationOfEachInstructionSetIsExact) {
    const int64_t        n = 4096 + 64;
    std::vector<int8_t>  q8(static_cast<size_t>(n));
    std::vector<uint8_t> q4(static_cast<size_t>(n / 2));
    std::vector<float>   scales(static_cast<size_t>(n / 32)), out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        q8[size_t(i)] = int8_t(int(i * 37 % 255) - 127);
    for (int64_t i = 0; i < n / 2; ++i)
        q4[size_t(i)] = uint8_t(i * 53 % 256);
    for (int64_t g = 0; g < n / 32; ++g)
        scales[size_t(g)] = 0.01f * float(g + 1) * (g % 3 == 0 ? -1.f : 1.f);
    int ran = 0;
    for (const char* isa : {"portable", "avx2", "avx512"}) {
        if (!ops::dequantize_row_q8_with(isa, q8.data(), scales.data(), n, out.data())) continue;
        ++ran;
        for (int64_t i = 0; i < n; ++i)
            ASSERT_EQ(out[size_t(i)], float(q8[size_t(i)]) * scales[size_t(i / 32)]) << isa << " q8 at " << i;
        ASSERT_TRUE(ops::dequantize_row_q4_with(isa, q4.data(), scales.data(), n, out.data()));
        for (int64_t g = 0; g < n / 32; ++g)
            for (int64_t j = 0; j < 16; ++j) {
                const uint8_t b = q4[size_t(g * 16 + j)];
                ASSERT_EQ(out[size_t(g * 32 + j)], float(int(b & 0xF) - 8) * scales[size_t(g)])
                    << isa << " q4 low " << g;
                ASSERT_EQ(out[size_t(g * 32 + 16 + j)], float(int(b >> 4) - 8) * scales[size_t(g)])
                    << isa << " q4 high " << g;
            }
    }
    EXPECT_GE(ran, 1);
}

// quantize_row_q4 as first written (one candidate scale after another, scalar): the SIMD scale searches must choose
// the same scales and levels, bit for bit, so that a model quantised at load or by glmv-cli quantize is the same
// on every machine and the same as before the searches were vectorised.
static void reference_quantize_row_q4(const float* x, int64_t n, uint8_t* q, float* scales) {
    auto quant = [](float v, float inv) {
        const float r = std::clamp(v * inv, -9.f, 8.f);
        return std::clamp(int(r + std::copysign(0.5f, r)), -8, 7);
    };
    for (int64_t g = 0; g < n / 32; ++g) {
        const float* xg   = x + g * 32;
        float        amax = 0;
        for (int64_t j = 0; j < 32; ++j)
            amax = std::max(amax, std::fabs(xg[j]));
        float best_s = 0, best_err = INFINITY;
        if (amax > 0)
            for (float f : {0.70f, 0.78f, 0.85f, 0.92f, 1.0f, 1.07f})
                for (float sign : {1.f, -1.f}) {
                    const float s = sign * amax * f / 7.5f, inv = 1.f / s;
                    float       err = 0;
                    for (int64_t j = 0; j < 32; ++j) {
                        const float d = xg[j] - float(quant(xg[j], inv)) * s;
                        err += d * d;
                    }
                    if (err < best_err) best_err = err, best_s = s;
                }
        scales[g]       = best_s;
        const float inv = best_s != 0 ? 1.f / best_s : 0.f;
        for (int64_t j = 0; j < 16; ++j)
            q[g * 16 + j] = uint8_t((quant(xg[j], inv) + 8) | (quant(xg[j + 16], inv) + 8) << 4);
    }
}

TEST(Kernels, Q4QuantisationOfEachInstructionSetMatchesTheReference) {
    // Gaussian groups, then groups that stress the search: all zero, one outlier, ties, denormals, constants.
    const int64_t      n = 32 * 2048;
    std::vector<float> x = randn(size_t(n), 21);
    for (int64_t j = 0; j < 32; ++j) {
        x[size_t(j)]       = 0.f;                                                // group 0: zeros
        x[size_t(32 + j)]  = j == 5 ? 40.f : 0.01f * float(j);                   // group 1: one outlier
        x[size_t(64 + j)]  = float(j % 4) - 1.5f;                                // group 2: four values, many ties
        x[size_t(96 + j)]  = 1e-41f * float(j - 16);                             // group 3: denormals
        x[size_t(128 + j)] = -0.75f;                                             // group 4: a constant
        x[size_t(160 + j)] = std::ldexp(1.f, int(j % 7)) * (j % 2 ? 1.f : -1.f); // group 5: powers of two
    }
    std::vector<uint8_t> want(size_t(n / 2)), got(size_t(n / 2));
    std::vector<float>   want_s(size_t(n / 32)), got_s(size_t(n / 32));
    reference_quantize_row_q4(x.data(), n, want.data(), want_s.data());
    int ran = 0;
    for (const char* isa : {"portable", "avx2", "avx512"}) {
        if (!ops::quantize_row_q4_with(isa, x.data(), n, got.data(), got_s.data())) continue;
        ++ran;
        for (int64_t g = 0; g < n / 32; ++g) {
            ASSERT_EQ(std::bit_cast<uint32_t>(got_s[size_t(g)]), std::bit_cast<uint32_t>(want_s[size_t(g)]))
                << isa << " scale of group " << g;
            for (int64_t j = 0; j < 16; ++j)
                ASSERT_EQ(got[size_t(g * 16 + j)], want[size_t(g * 16 + j)]) << isa << " group " << g << " byte " << j;
        }
    }
    EXPECT_GE(ran, 1);
    ops::quantize_row_q4(x.data(), n, got.data(), got_s.data()); // the dispatched version
    EXPECT_EQ(got, want);
}

// q8 weights: every instruction set gives the bytes and scales of the plain rule (amax / 127, std::lround), also
// where x / scale lies just below a half (0.49999997 rounds to 0: adding 0.5 and truncating would give 1).
TEST(Kernels, Q8QuantisationOfEachInstructionSetMatchesTheReference) {
    const int64_t      n = 32 * 1024;
    std::vector<float> x = randn(size_t(n), 22);
    // Group 0 has amax 127, so its scale is 1 and x / scale is x itself: halves and values just beside them.
    const float edge[32] = {127.f,      0.5f,        -0.5f,  1.5f,    -2.5f,       0.49999997f, -0.49999997f,
                            2.4999998f, -2.4999998f, 126.5f, -126.5f, 0.50000006f, 3.5000002f,  0.f,
                            -0.f,       1e-30f,      -7.25f, 7.75f,   100.49999f,  -100.50001f, 64.5f,
                            -64.5f,     0.25f,       -0.75f, 5.f,     -5.f,        9.5f,        -9.5f,
                            11.5f,      12.5f,       13.5f,  -127.f};
    std::copy(edge, edge + 32, x.begin());
    for (int64_t j = 32; j < 64; ++j)
        x[size_t(j)] = 0.f; // group 1: zeros (scale 0)
    std::vector<int8_t> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
    std::vector<float>  want_s(static_cast<size_t>(n / 32)), got_s(static_cast<size_t>(n / 32));
    for (int64_t g = 0; g < n / 32; ++g) {
        float amax = 0;
        for (int64_t j = 0; j < 32; ++j)
            amax = std::max(amax, std::fabs(x[size_t(g * 32 + j)]));
        const float sc = amax / 127.f, inv = sc > 0 ? 1.f / sc : 0.f;
        want_s[size_t(g)] = sc;
        for (int64_t j = 0; j < 32; ++j)
            want[size_t(g * 32 + j)] = int8_t(std::clamp(std::lround(x[size_t(g * 32 + j)] * inv), -127L, 127L));
    }
    ASSERT_EQ(want[5], 0);  // 0.49999997
    ASSERT_EQ(want[4], -3); // -2.5, away from zero
    int ran = 0;
    for (const char* isa : {"portable", "avx2", "avx512"}) {
        if (!ops::quantize_row_q8_with(isa, x.data(), n, got.data(), got_s.data())) continue;
        ++ran;
        for (int64_t g = 0; g < n / 32; ++g)
            ASSERT_EQ(std::bit_cast<uint32_t>(got_s[size_t(g)]), std::bit_cast<uint32_t>(want_s[size_t(g)]))
                << isa << " scale of group " << g;
        for (int64_t i = 0; i < n; ++i)
            ASSERT_EQ(got[size_t(i)], want[size_t(i)]) << isa << " at " << i << " (x = " << x[size_t(i)] << ")";
    }
    EXPECT_GE(ran, 1);
}

// The decode matrix-vector products (four rows at a time, vector prepared once) against the per-row references,
// for row counts around the block of four and awkward lengths.
TEST(Kernels, GemvMatchesPerRowReferences) {
    std::printf("gemv kernels: bf16 %s, q8 %s, q4 %s\n", ops::gemv_isa(ops::GemvWeights::bf16),
                ops::gemv_isa(ops::GemvWeights::q8), ops::gemv_isa(ops::GemvWeights::q4));
    ops::GemvVector v;
    for (int64_t n : {32, 33, 64, 96, 100, 4096, 13696}) {
        for (int64_t rows : {1, 3, 4, 5, 9}) {
            auto x = randn(size_t(n), 10), wf = randn(size_t(n * rows), 11);
            std::vector<float> y(static_cast<size_t>(rows));
            std::vector<uint16_t> wb(wf.size());
            for (size_t i = 0; i < wf.size(); ++i) wb[i] = f32_to_bf16(wf[i]);
            ops::gemv_prepare(x.data(), n, ops::GemvWeights::bf16, v);
            ops::gemv_bf16_rows(v, wb.data(), rows, y.data());
            for (int64_t r = 0; r < rows; ++r)
                EXPECT_NEAR(y[size_t(r)], ops::reference_dot_bf16(x.data(), wb.data() + r * n, n), 1e-4 * std::sqrt(double(n)) + 1e-5)
                    << "bf16 n=" << n << " rows=" << rows << " r=" << r;
            if (n % 32) continue;
            const int64_t        G = n / 32;
            std::vector<int8_t>  q8(size_t(n * rows));
            std::vector<uint8_t> q4(size_t(n * rows / 2));
            std::vector<float>   s8(size_t(G * rows)), s4(size_t(G * rows));
            for (int64_t r = 0; r < rows; ++r) {
                ops::quantize_row_q8(wf.data() + r * n, n, q8.data() + r * n, s8.data() + r * G);
                ops::quantize_row_q4(wf.data() + r * n, n, q4.data() + r * n / 2, s4.data() + r * G);
            }
            // The engine's blocks of four rows (quant_blocks.h), padding rows and groups included.
            auto blocks_of = [&](ops::Quant q, const uint8_t* data, const float* scales) {
                const ops::QuantBlockShape shape{q, rows, n};
                const int64_t              row_bytes = q == ops::Quant::q8 ? n : n / 2;
                std::vector<uint8_t>       b(size_t(shape.bytes()));
                for (int64_t blk = 0; blk < shape.blocks(); ++blk)
                    ops::pack_quant_block(shape, data + blk * 4 * row_bytes, scales + blk * 4 * G,
                                          std::min<int64_t>(4, rows - blk * 4), b.data() + blk * shape.block_bytes());
                return b;
            };
            const auto b8 = blocks_of(ops::Quant::q8, reinterpret_cast<const uint8_t*>(q8.data()), s8.data());
            const auto b4 = blocks_of(ops::Quant::q4, q4.data(), s4.data());
            const int64_t nb = (rows + 3) / 4;
            std::vector<float> yb(size_t(nb * 4), std::nanf(""));
            // The integer kernels quantise x to int8 per group of 32: about 0.6 % of each group's largest value per
            // element, so the error grows like √n.
            const double tol = 2e-2 * std::sqrt(double(n));
            ops::gemv_prepare(x.data(), n, ops::GemvWeights::q8, v);
            ops::gemv_q8_blocks(v, b8.data(), nb, yb.data());
            for (int64_t r = 0; r < nb * 4; ++r)
                EXPECT_NEAR(yb[size_t(r)], r < rows ? ops::reference_dot_q8(x.data(), q8.data() + r * n, s8.data() + r * G, n) : 0., tol)
                    << "q8 n=" << n << " rows=" << rows << " r=" << r;
            std::fill(yb.begin(), yb.end(), std::nanf(""));
            ops::gemv_prepare(x.data(), n, ops::GemvWeights::q4, v);
            ops::gemv_q4_blocks(v, b4.data(), nb, yb.data());
            for (int64_t r = 0; r < nb * 4; ++r)
                EXPECT_NEAR(yb[size_t(r)], r < rows ? ops::reference_dot_q4(x.data(), q4.data() + r * n / 2, s4.data() + r * G, n) : 0., tol)
                    << "q4 n=" << n << " rows=" << rows << " r=" << r;
        }
    }
}

// The prepared vector of the AVX-512 tiers (vector code) against its scalar definition: x split into bf16 hi + lo,
// x quantised by quantize_row_q8's rule, q + 128 for q8, and q4's block layout with its per-lane bias.
TEST(Kernels, PreparedVectorMatchesItsDefinition) {
    for (int64_t n : {32, 64, 96, 4096, 13696}) {
        SCOPED_TRACE("n=" + std::to_string(n));
        const auto      x = randn(size_t(n), 12);
        ops::GemvVector v;
        ops::gemv_prepare(x.data(), n, ops::GemvWeights::bf16, v);
        if (std::string(ops::gemv_isa(ops::GemvWeights::bf16)) == "avx512-bf16")
            for (int64_t i = 0; i < n; ++i) {
                ASSERT_EQ(v.hi[size_t(i)], f32_to_bf16(x[size_t(i)])) << i;
                ASSERT_EQ(v.lo[size_t(i)], f32_to_bf16(x[size_t(i)] - bf16_to_f32(v.hi[size_t(i)]))) << i;
            }
        if (std::string(ops::gemv_isa(ops::GemvWeights::q8)) != "avx512-vnni") continue;
        const int64_t       G = n / 32;
        std::vector<int8_t> q(static_cast<size_t>(n));
        std::vector<float>  sc(static_cast<size_t>(G));
        ops::quantize_row_q8(x.data(), n, q.data(), sc.data());
        ops::gemv_prepare(x.data(), n, ops::GemvWeights::q8, v);
        for (int64_t g = 0; g < G; ++g) ASSERT_EQ(v.scale[size_t(g)], sc[size_t(g)]);
        for (int64_t i = 0; i < n; ++i) {
            // Exact ties (x/scale = k + 0.5) could round apart by float error; random data has none.
            ASSERT_EQ(v.q[size_t(i)], q[size_t(i)]) << i;
            ASSERT_EQ(v.q_offset[size_t(i)], uint8_t(int(q[size_t(i)]) + 128)) << i;
            ASSERT_EQ(v.lane_scale[size_t(i / 4)], sc[size_t(i / 32)]) << i;
        }
        ops::gemv_prepare(x.data(), n, ops::GemvWeights::q4, v);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(v.q_natural[size_t(i)], q[size_t(i)]) << i;
        // Groups past the last are zeros up to whole chunks of four, like the weights' padding (quant_blocks.h).
        const int64_t Gp     = (G + 3) / 4 * 4;
        auto          q_at   = [&](int64_t i) { return i < n ? q[size_t(i)] : int8_t(0); };
        auto          sc_at  = [&](int64_t g) { return g < G ? sc[size_t(g)] : 0.f; };
        ASSERT_EQ(int64_t(v.q.size()), Gp * 32);
        for (int64_t b = 0; b < Gp / 4; ++b)
            for (int64_t lane = 0; lane < 16; ++lane) {
                const int64_t g = b * 4 + lane / 4, j0 = lane % 4 * 4; // lane covers values j0..j0+3 of group g's halves
                int32_t       bias = 0;
                for (int64_t j = j0; j < j0 + 4; ++j) {
                    ASSERT_EQ(v.q[size_t(b * 128 + lane * 4 + j - j0)], q_at(g * 32 + j));
                    ASSERT_EQ(v.q[size_t(b * 128 + 64 + lane * 4 + j - j0)], q_at(g * 32 + 16 + j));
                    bias += 8 * (q_at(g * 32 + j) + q_at(g * 32 + 16 + j));
                }
                ASSERT_EQ(v.q4_bias[size_t(b * 16 + lane)], bias) << "block " << b << " lane " << lane;
                ASSERT_EQ(v.lane_scale[size_t(b * 16 + lane)], sc_at(g));
            }
    }
}
