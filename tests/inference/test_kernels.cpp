// The dispatched SIMD kernels against their naive references, on awkward lengths.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../../inference/src/ops/kernels.h"
#include "glmv/inference/safetensors.h"

using namespace glmv;

namespace {
std::vector<float> randn(size_t n, uint64_t seed) {
    std::mt19937_64                 rng(seed);
    std::normal_distribution<float> d;
    std::vector<float>              v(n);
    for (float& x : v) x = d(rng);
    return v;
}
} // namespace

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
