// The arithmetic ceilings that prefill and vision are judged against: what a perfect GEMM approaches on this CPU with
// all threads, measured in registers (no memory), one per kind of product the engine can run.
#pragma once

#include <string>

namespace glmv::bench {

// fp32 FMA rate (GFLOP/s) with the widest vectors the CPU has; 0 without AVX2+FMA.
double measure_fma_peak_gflops();

// The bf16 product rate (GFLOP/s, sums in fp32) of the instructions oneDNN's bf16 products run on here: AMX tiles
// where its kernel name says amx, else AVX512-BF16 dot products; 0 where neither exists. *kind says which
// ("amx_bf16", "avx512_bf16" or "none").
double measure_bf16_peak_gflops(const std::string& onednn_kernel, std::string* kind);

} // namespace glmv::bench
