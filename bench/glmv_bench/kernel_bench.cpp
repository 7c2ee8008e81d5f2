#include "kernel_bench.h"

#include <fcntl.h>
#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "../../inference/src/ops/gemm.h"
#include "../../inference/src/ops/gemv.h"
#include "../../inference/src/ops/ops.h"
#include "../../inference/src/sampling/sampler.h"
#include "arithmetic_peaks.h"
#include "proc_files.h"

namespace glmv::bench {

namespace {

// The shortest of `reps` timed calls of fn, in seconds.
template <typename Fn> double best_seconds(int reps, Fn&& fn) {
    double best = 1e30;
    for (int rep = 0; rep < reps; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

// Rows [first_row, first_row + rows) × cols of `dense` (bf16) in format fmt: bf16 as is; q8/q4 quantised from `copy`
// (quantize_matrix releases the pages of its source), the quantisation's time in *quantise_s when asked.
ops::WeightMatrix matrix_in(const std::string& fmt, const std::vector<uint16_t>& dense, int64_t rows, int64_t cols,
                            std::vector<uint16_t>& copy, double* quantise_s = nullptr, int64_t first_row = 0) {
    const uint16_t*   src = dense.data() + first_row * cols;
    ops::WeightMatrix w;
    w.dtype = DType::bf16;
    w.data  = reinterpret_cast<const uint8_t*>(src);
    w.rows  = rows;
    w.cols  = cols;
    if (fmt == "bf16") return w;
    copy.assign(src, src + rows * cols);
    w.data         = reinterpret_cast<const uint8_t*>(copy.data());
    const double s = best_seconds(1, [&] { ops::quantize_matrix(w, fmt == "q8" ? ops::Quant::q8 : ops::Quant::q4); });
    if (quantise_s) *quantise_s = s;
    return w;
}

// The first line of a text file (a /sys setting), or "(unreadable)".
std::string first_line(const char* path) {
    std::ifstream f(path);
    std::string   line;
    return std::getline(f, line) ? line : "(unreadable)";
}

} // namespace

int run_kernel_bench(int argc, char** argv, double (*measure_bandwidth_gbs)()) {
    int64_t rows = 13696 * 2, cols = 4096; // two MLP up-projections of GLM-4.1V-9B: 224 MB in bf16
    int     reps = 10;
    int64_t prefill_rows = 512;
    // --only products,qkv,preparation,attention,pages,sync,sampling,peaks,prefill: the sections to run (all by
    // default), so that a run on a borrowed machine can time one thing under several settings.
    std::string only;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--rows")) rows = std::stoll(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--cols")) cols = std::stoll(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--reps")) reps = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--prefill-rows"))
            prefill_rows = std::stoll(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--only"))
            only = "," + std::string(argv[i + 1]) + ",";
    }
    auto section = [&](const char* name) {
        return only.empty() || only.find("," + std::string(name) + ",") != std::string::npos;
    };
    const double bw = measure_bandwidth_gbs();
    std::printf("threads %d, measured read bandwidth %.1f GB/s, matrix %lld x %lld\n", omp_get_max_threads(), bw,
                (long long)rows, (long long)cols);
    std::mt19937                    rng(7);
    std::normal_distribution<float> nd(0.f, 0.02f);
    std::vector<uint16_t>           dense(static_cast<size_t>(rows * cols));
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
        std::mt19937                    g(static_cast<uint32_t>(r));
        std::normal_distribution<float> d(0.f, 0.02f);
        for (int64_t c = 0; c < cols; ++c) dense[size_t(r * cols + c)] = f32_to_bf16(d(g));
    }
    std::vector<float> x(static_cast<size_t>(cols)), y(static_cast<size_t>(rows));
    for (float& v : x) v = nd(rng) * 50.f;
    for (const char* fmt : {"bf16", "q8", "q4"}) {
        if (!section("products")) break;
        std::vector<uint16_t>   copy;
        double                  quantise_s = 0;
        const ops::WeightMatrix w          = matrix_in(fmt, dense, rows, cols, copy, &quantise_s);
        if (quantise_s > 0)
            std::printf("%-5s quantised at %.0f M weights/s\n", fmt, double(rows * cols) / quantise_s / 1e6);
        const ops::GemvWeights kind = std::string(fmt) == "q8" ? ops::GemvWeights::q8
                                      : std::string(fmt) == "q4" ? ops::GemvWeights::q4
                                                                 : ops::GemvWeights::bf16;
        const double           best = best_seconds(reps, [&] { ops::linear(x.data(), 1, w, nullptr, y.data()); });
        const double gbs = double(w.bytes()) / best / 1e9;
        std::printf("%-5s %-12s %7.1f MB  %6.2f ms  %6.1f GB/s  %.2f of bandwidth\n", fmt, ops::gemv_isa(kind),
                    double(w.bytes()) / 1e6, best * 1e3, gbs, gbs / bw);
    }
    // One decoder layer's q, k and v (4096, 256 and 256 rows of the 9B) for one token: three linear() calls against
    // one linear_shared_input() (one vector preparation, one parallel loop).
    if (section("qkv") && size_t(4608 * 4096) <= dense.size() && cols == 4096)
        for (const char* fmt : {"bf16", "q8", "q4"}) {
            std::vector<uint16_t>   copy_q, copy_k, copy_v; // three matrices from consecutive rows, as in the 9B's file
            const ops::WeightMatrix q = matrix_in(fmt, dense, 4096, 4096, copy_q);
            const ops::WeightMatrix k = matrix_in(fmt, dense, 256, 4096, copy_k, nullptr, 4096);
            const ops::WeightMatrix v = matrix_in(fmt, dense, 256, 4096, copy_v, nullptr, 4352);
            std::vector<float>      yq(4096), yk(256), yv(256);
            const double            three     = best_seconds(reps * 5, [&] {
                ops::linear(x.data(), 1, q, nullptr, yq.data());
                ops::linear(x.data(), 1, k, nullptr, yk.data());
                ops::linear(x.data(), 1, v, nullptr, yv.data());
            });
            const ops::LinearTarget targets[] = {
                {&q, nullptr, yq.data()}, {&k, nullptr, yk.data()}, {&v, nullptr, yv.data()}};
            const double one = best_seconds(reps * 5, [&] { ops::linear_shared_input(x.data(), 1, targets); });
            std::printf("%-5s q/k/v of one layer, one token: three calls %6.1f us, one shared call %6.1f us\n", fmt,
                        three * 1e6, one * 1e6);
        }
    // Preparing the input vector (serial, once per product, while the other threads wait): microseconds per call
    // at the 9B's two input widths.
    for (int64_t n : {int64_t(4096), int64_t(13696)}) {
        if (!section("preparation")) break;
        std::vector<float> xv(static_cast<size_t>(n));
        for (float& f : xv) f = nd(rng);
        for (auto [kind, name] : {std::pair{ops::GemvWeights::bf16, "bf16"}, std::pair{ops::GemvWeights::q8, "q8"},
                                  std::pair{ops::GemvWeights::q4, "q4"}}) {
            ops::GemvVector v;
            ops::gemv_prepare(xv.data(), n, kind, v);
            const double best = best_seconds(200, [&] { ops::gemv_prepare(xv.data(), n, kind, v); });
            std::printf("%-5s vector preparation, %5lld values: %7.1f us\n", name, (long long)n, best * 1e6);
        }
    }
    // Decode attention over a long cache with the 9B's heads (32 query heads on 2 KV heads, head_dim 128): the
    // fp32 keys and values it reads per layer, as GB/s and as a fraction of the bandwidth.
    for (int64_t ctx : {int64_t(512), int64_t(8192), int64_t(32768)}) {
        if (!section("attention")) break;
        ops::AttentionShape s;
        s.n_q = 1, s.n_k = ctx, s.n_head = 32, s.n_head_kv = 2, s.head_dim = 128;
        s.q_stride = s.out_stride = 32 * 128, s.k_stride = s.v_stride = 2 * 128;
        s.causal = true, s.q_offset = ctx - 1;
        std::vector<float> q(size_t(32 * 128)), kc(size_t(ctx * 256)), vc(size_t(ctx * 256)), out(size_t(32 * 128));
        for (float& f : q) f = nd(rng);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < ctx * 256; ++i) kc[size_t(i)] = vc[size_t(i)] = float(i % 97) * 1e-3f;
        const double best =
            best_seconds(reps * 4, [&] { ops::attention(q.data(), kc.data(), vc.data(), out.data(), s); });
        const double bytes = double(ctx) * 256 * 4 * 2, gbs = bytes / best / 1e9;
        std::printf("decode attention, context %-6lld %7.1f MB  %6.3f ms  %6.1f GB/s  %.2f of bandwidth\n",
                    (long long)ctx, bytes / 1e6, best * 1e3, gbs, gbs / bw);
    }
    // Where the weights live: the bf16 product over the same matrix copied into anonymous memory asked for huge pages
    // (MADV_HUGEPAGE), into anonymous memory refused them (MADV_NOHUGEPAGE), and read through a read-only shared file
    // mapping as the engine reads bf16 checkpoints. Decode streams gigabytes per token; with 4 KB pages every 4 KB is
    // a TLB miss and the hardware prefetchers stop at each page's end.
    if (section("pages")) {
        std::printf("transparent huge pages: enabled %s, defrag %s\n",
                    first_line("/sys/kernel/mm/transparent_hugepage/enabled").c_str(),
                    first_line("/sys/kernel/mm/transparent_hugepage/defrag").c_str());
        const size_t bytes       = dense.size() * sizeof(uint16_t);
        auto         product_gbs = [&](const void* data) {
            ops::WeightMatrix w;
            w.dtype = DType::bf16;
            w.data  = static_cast<const uint8_t*>(data);
            w.rows = rows, w.cols = cols;
            return double(bytes) / best_seconds(reps, [&] { ops::linear(x.data(), 1, w, nullptr, y.data()); }) / 1e9;
        };
        for (auto [advice, name] : {std::pair{MADV_HUGEPAGE, "anonymous, huge pages asked"},
                                    std::pair{MADV_NOHUGEPAGE, "anonymous, huge pages refused"}}) {
            void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) continue;
            madvise(p, bytes, advice);
            const uint64_t huge0 = proc_rollup_bytes("AnonHugePages:");
#pragma omp parallel for schedule(static)
            for (int64_t r = 0; r < rows; ++r)
                std::memcpy(static_cast<uint16_t*>(p) + r * cols, dense.data() + r * cols, size_t(cols) * 2);
            const uint64_t huge = proc_rollup_bytes("AnonHugePages:") - huge0;
            std::printf("bf16 product, %-30s %6.1f GB/s  (%.0f %% in huge pages)\n", name, product_gbs(p),
                        100.0 * double(huge) / double(bytes));
            munmap(p, bytes);
        }
        char path[] = "/tmp/glmv-pages-XXXXXX";
        if (const int fd = mkstemp(path); fd >= 0) {
            unlink(path);
            bool written = true;
            for (size_t off = 0; written && off < bytes;) {
                const ssize_t n = write(fd, reinterpret_cast<const char*>(dense.data()) + off,
                                        std::min(bytes - off, size_t(1) << 26));
                written         = n > 0;
                off += size_t(std::max<ssize_t>(n, 0));
            }
            void* p = written ? mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
            if (p != MAP_FAILED) {
                std::printf("bf16 product, %-30s %6.1f GB/s\n", "shared file mapping", product_gbs(p));
                munmap(p, bytes);
            }
            close(fd);
        }
    }
    // What a hand-off between threads costs (a decode step of the 9B has about 280 parallel regions): an empty
    // parallel region, a barrier inside one region, and a serial RMS norm of a 4096-value row that all threads have
    // just written (its cache lines sit in other cores' caches) against the same norm of a row this thread wrote.
    if (section("sync")) {
        constexpr int n_sync = 2000;
        const double  region = best_seconds(5, [&] {
            for (int i = 0; i < n_sync; ++i) {
#pragma omp parallel
                { asm volatile(""); }
            }
        });
        const double barrier = best_seconds(5, [&] {
#pragma omp parallel
            for (int i = 0; i < n_sync; ++i) {
#pragma omp barrier
            }
        });
        std::vector<float> row(4096), gain(4096, 1.f), normed(4096);
        double             shared_norm = 0, own_norm = 0;
        for (int rep = 0; rep < 200; ++rep) {
#pragma omp parallel for schedule(static)
            for (int i = 0; i < 4096; ++i)
                row[size_t(i)] = float(i % 13 + rep) * 0.01f;
            shared_norm +=
                best_seconds(1, [&] { ops::rms_norm(row.data(), 1, 4096, gain.data(), 1e-5f, normed.data()); });
            for (int i = 0; i < 4096; ++i)
                row[size_t(i)] = float(i % 11 + rep) * 0.01f;
            own_norm += best_seconds(1, [&] { ops::rms_norm(row.data(), 1, 4096, gain.data(), 1e-5f, normed.data()); });
        }
        std::printf("hand-offs: empty parallel region %.2f us, barrier %.2f us; RMS norm of 4096 values written by all "
                    "threads %.2f us, by this thread %.2f us\n",
                    region / n_sync * 1e6, barrier / n_sync * 1e6, shared_norm / 200 * 1e6, own_norm / 200 * 1e6);
    }
    // Choosing one token from the 9B's 151552 logits (one core, while the other threads wait), per sampling setting:
    // logits of a confident model (normal spread, a few tokens well ahead).
    if (section("sampling")) {
        std::vector<float> logits(151552);
        for (float& f : logits)
            f = nd(rng) * 100.f; // nd has a 0.02 spread: about 2 logits
        for (int i = 0; i < 8; ++i)
            logits[size_t(1000 * i + 7)] = 22.f - 1.5f * float(i);
        const std::vector<std::pair<const char*, SamplingParams>> settings = [] {
            SamplingParams greedy, plain, top_p, demo;
            greedy.greedy = true;
            top_p.top_p   = 0.8f;
            demo.top_k = 2, demo.top_p = 1e-5f; // the desktop app's defaults (the reference demo's)
            return std::vector<std::pair<const char*, SamplingParams>>{
                {"greedy", greedy}, {"temperature 1", plain}, {"top-p 0.8", top_p}, {"top-k 2, top-p 1e-5", demo}};
        }();
        for (const auto& [name, sp] : settings) {
            Sampler            sampler(sp);
            std::vector<float> work;
            const double       best = best_seconds(20, [&] {
                work = logits;
                sampler.sample(work, {});
            });
            std::printf("sampling one token of 151552, %-22s %7.3f ms\n", name, best * 1e3);
        }
    }
    // Prefill's matrix products: a 512-row prompt against each of the 9B decoder's weight shapes (fused q/k/v,
    // output, fused gate/up, down) in each weight format, as GFLOP/s, and the same product on weights already in
    // fp32 (what widening or dequantising slab by slab costs). The sum of the four is one layer of a prompt.
    // The arithmetic ceilings (arithmetic_peaks.h) and the oneDNN kernels prefill runs on.
    if (section("peaks")) {
        std::string  kind;
        const double bf16 = measure_bf16_peak_gflops(ops::gemm_bf16_impl(), &kind);
        std::printf("fp32 FMA peak %.1f GFLOP/s (oneDNN fp32 kernel %s); bf16 peak %.1f GFLOP/s (%s, oneDNN bf16 "
                    "kernel %s)\n",
                    measure_fma_peak_gflops(), ops::gemm_impl(), bf16, kind.c_str(), ops::gemm_bf16_impl());
    }
    if (section("prefill")) {
        const int64_t      M = prefill_rows;
        std::vector<float> xm(size_t(M * 13696));
        for (float& f : xm)
            f = nd(rng);
        for (const char* fmt : {"bf16", "q8", "q4"}) {
            double total_flops = 0, total_s = 0, total_f32_s = 0, total_bf16_s = 0;
            for (auto [n, k, name] :
                 {std::tuple{int64_t(4608), int64_t(4096), "qkv"}, std::tuple{int64_t(4096), int64_t(4096), "o"},
                  std::tuple{int64_t(27392), int64_t(4096), "gate_up"},
                  std::tuple{int64_t(4096), int64_t(13696), "down"}}) {
                if (size_t(n * k) > dense.size()) continue; // --rows/--cols made the matrix smaller than this shape
                std::vector<uint16_t>   copy;
                ops::WeightMatrix       w = matrix_in(fmt, dense, n, k, copy);
                std::vector<float>      ym(size_t(M * n));
                auto                    time_product = [&](const ops::WeightMatrix& wm) {
                    return best_seconds(3, [&] { ops::linear(xm.data(), M, wm, nullptr, ym.data()); });
                };
                const double       best = time_product(w);
                w.bf16_products         = true; // LoadParams::prompt_arithmetic bf16
                const double best_bf16  = time_product(w);
                w.bf16_products         = false;
                std::vector<float> wide(size_t(n * k));
#pragma omp parallel for schedule(static)
                for (int64_t r = 0; r < n; ++r)
                    ops::weight_row_to_f32(w, r, wide.data() + r * k);
                ops::WeightMatrix wf;
                wf.dtype = DType::f32;
                wf.rows = n, wf.cols = k;
                wf.data               = reinterpret_cast<const uint8_t*>(wide.data());
                const double best_f32 = time_product(wf);
                const double flops    = 2.0 * double(M) * double(n) * double(k);
                total_flops += flops, total_s += best, total_f32_s += best_f32, total_bf16_s += best_bf16;
                std::printf("prefill product %-4s %-7s %4lld x %5lld x %5lld: %7.2f ms  %6.1f GFLOP/s (fp32 weights: "
                            "%6.1f, bf16 products: %6.1f)\n",
                            fmt, name, (long long)M, (long long)n, (long long)k, best * 1e3, flops / best / 1e9,
                            flops / best_f32 / 1e9, flops / best_bf16 / 1e9);
            }
            if (total_s > 0)
                std::printf("prefill products %-4s, one layer of %lld rows: %.1f GFLOP/s (fp32 weights: %.1f, bf16 "
                            "products: %.1f)\n",
                            fmt, (long long)M, total_flops / total_s / 1e9, total_flops / total_f32_s / 1e9,
                            total_flops / total_bf16_s / 1e9);
        }
    }
    return 0;
}

} // namespace glmv::bench
