#pragma once

namespace glmv::bench {

// `glmv-bench kernels [--rows N] [--cols N] [--reps N]`: the decode matrix-vector product alone, for each weight
// format, on a matrix far larger than the caches; prints GB/s of weights streamed and the fraction of the measured
// memory bandwidth (the per-matrix form of the decode roofline); then decode attention with the 9B's heads at
// contexts 512, 8192 and 32768 (the fp32 keys and values of one layer, against the same bandwidth).
int run_kernel_bench(int argc, char** argv, double (*measure_bandwidth_gbs)());

} // namespace glmv::bench
