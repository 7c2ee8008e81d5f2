#include "arithmetic_peaks.h"

#include <immintrin.h>
#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace glmv::bench {

namespace {

// Twelve independent multiply-add chains per thread, in registers: the fp32 arithmetic ceiling that a perfect
// GEMM approaches (12 chains cover the FMA latency x throughput of current x86 cores). Returns the FLOPs done;
// the lanes' sum goes to *sink so that the chains are not optimised away.
__attribute__((target("avx512f"))) double fma_chains_avx512(int64_t iters, float* sink) {
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-7f);
    __m512       c[12];
    for (int i = 0; i < 12; ++i)
        c[i] = _mm512_set1_ps(float(i));
    for (int64_t it = 0; it < iters; ++it)
        for (int i = 0; i < 12; ++i)
            c[i] = _mm512_fmadd_ps(c[i], a, b);
    alignas(64) float lanes[16];
    float             s = 0;
    for (int i = 0; i < 12; ++i) {
        _mm512_store_ps(lanes, c[i]);
        for (float v : lanes)
            s += v;
    }
    *sink = s;
    return double(iters) * 12 * 2 * 16;
}
__attribute__((target("avx2,fma"))) double fma_chains_avx2(int64_t iters, float* sink) {
    const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-7f);
    __m256       c[12];
    for (int i = 0; i < 12; ++i)
        c[i] = _mm256_set1_ps(float(i));
    for (int64_t it = 0; it < iters; ++it)
        for (int i = 0; i < 12; ++i)
            c[i] = _mm256_fmadd_ps(c[i], a, b);
    alignas(32) float lanes[8];
    float             s = 0;
    for (int i = 0; i < 12; ++i) {
        _mm256_store_ps(lanes, c[i]);
        for (float v : lanes)
            s += v;
    }
    *sink = s;
    return double(iters) * 12 * 2 * 8;
}

// The same with vdpbf16ps: each instruction adds 16 lanes of two bf16 products each (64 FLOPs), twice an fp32 FMA.
__attribute__((target("avx512f,avx512bf16"))) double dpbf16_chains(int64_t iters, float* sink) {
    const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80), b = (__m512bh)_mm512_set1_epi16(0x3380); // 1, ~6e-8
    __m512         c[12];
    for (int i = 0; i < 12; ++i)
        c[i] = _mm512_set1_ps(float(i));
    for (int64_t it = 0; it < iters; ++it)
        for (int i = 0; i < 12; ++i)
            c[i] = _mm512_dpbf16_ps(c[i], a, b);
    alignas(64) float lanes[16];
    float             s = 0;
    for (int i = 0; i < 12; ++i) {
        _mm512_store_ps(lanes, c[i]);
        for (float v : lanes)
            s += v;
    }
    *sink = s;
    return double(iters) * 12 * 2 * 32;
}

// AMX: the tile configuration of palette 1 (64 bytes), as the instruction set reference lays it out.
struct TileConfig {
    uint8_t  palette           = 1;
    uint8_t  start_row         = 0;
    uint8_t  reserved[14]      = {};
    uint16_t bytes_per_row[16] = {};
    uint8_t  rows[16]          = {};
};

// Linux gives a thread AMX's tile state only once the process asks for it (arch_prctl, kernel 5.16+).
bool amx_permitted() {
    constexpr long kReqXcompPerm = 0x1023, kXfeatureTileData = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureTileData) == 0;
}

// Four 16x16 fp32 accumulator tiles fed by two A and two B tiles of 16 x 32 bf16, four tdpbf16ps per iteration
// (each 16·16·32 products, 16384 FLOPs): the register-only loop a blocked AMX GEMM runs.
__attribute__((target("amx-tile,amx-bf16"))) double amx_tiles(int64_t iters, float* sink) {
    TileConfig cfg;
    for (int t = 0; t < 8; ++t)
        cfg.bytes_per_row[t] = 64, cfg.rows[t] = 16;
    _tile_loadconfig(&cfg);
    alignas(64) uint16_t ab[16 * 32];
    for (uint16_t& v : ab)
        v = 0x3c00; // 2^-7
    alignas(64) float acc[16 * 16] = {};
    _tile_loadd(0, acc, 64);
    _tile_loadd(1, acc, 64);
    _tile_loadd(2, acc, 64);
    _tile_loadd(3, acc, 64);
    _tile_loadd(4, ab, 64);
    _tile_loadd(5, ab, 64);
    _tile_loadd(6, ab, 64);
    _tile_loadd(7, ab, 64);
    for (int64_t it = 0; it < iters; ++it) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, acc, 64);
    _tile_release();
    *sink = acc[0];
    return double(iters) * 4 * 16 * 16 * 32 * 2;
}

using Clock = std::chrono::steady_clock;

// The best rate (GFLOP/s) of five passes of `chains` on all threads. Each pass is about 0.1 s: short passes caught
// cores before they reached their sustained AVX-512 clock, and a busy neighbour on a shared host (the GPU machine)
// can halve a single pass.
template <typename Chains> double best_rate(int64_t iters, Chains chains) {
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
        double     flops = 0;
        float      sink  = 0;
        const auto t0    = Clock::now();
#pragma omp parallel reduction(+ : flops, sink)
        {
            float s = 0;
            flops += chains(iters, &s);
            sink += s;
        }
        const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
        if (sink == 1.2345f) std::printf(" "); // keeps the chains' results alive
        best = std::max(best, flops / sec / 1e9);
    }
    return best;
}

} // namespace

double measure_fma_peak_gflops() {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return best_rate(40'000'000, fma_chains_avx512);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return best_rate(40'000'000, fma_chains_avx2);
    return 0;
}

double measure_bf16_peak_gflops(const std::string& onednn_kernel, std::string* kind) {
    __builtin_cpu_init();
    // GLMV_BENCH_AMX_PROBE=0 skips the AMX probe (a measurement switch, and a way around a probe that fails).
    const char* amx_env = std::getenv("GLMV_BENCH_AMX_PROBE");
    const bool  try_amx = !(amx_env && std::string(amx_env) == "0");
    if (try_amx && onednn_kernel.find("amx") != std::string::npos && amx_permitted()) {
        *kind = "amx_bf16";
        // 16 cycles per tdpbf16ps on current cores: 2.5 M iterations is about 0.1 s.
        return best_rate(2'500'000, amx_tiles);
    }
    if (__builtin_cpu_supports("avx512bf16")) {
        *kind = "avx512_bf16";
        return best_rate(40'000'000, dpbf16_chains);
    }
    *kind = "none";
    return 0;
}

} // namespace glmv::bench
