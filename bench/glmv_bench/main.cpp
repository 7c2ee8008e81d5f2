// glmv-bench: engine speed and memory against the machine's own measured limits.
//
//   glmv-bench make-checkpoint --config CONFIG.json --out DIR        random-weight checkpoint in the real format
//   glmv-bench kernels [--rows N] [--cols N] [--reps N] [--only LIST]  decode and prefill kernels per weight format
//   glmv-bench --model DIR [--weights bf16|q8|q4] [--json OUT.json]  [--prefill 512,4096] [--decode-ctx 512,8192]
//              [--vision-mp 1,4,16] [--video-frames 32] [--threads N] [--ttft no] [--prompt-arithmetic auto|exact|bf16]
//
// Every throughput is reported next to a ceiling measured in the same run: decode tokens/s against the memory-
// bandwidth roofline (bandwidth ÷ bytes read per token), prefill and vision against the measured GEMM
// peak, taken as the fp32 FMA rate of all threads (registers only: what a perfect GEMM approaches).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "../../inference/src/ops/cpu_topology.h"
#include "../../inference/src/ops/gemm.h"
#include "../../inference/src/ops/ops.h"
#include "../../inference/src/text/decode_phases.h"
#include "arithmetic_peaks.h"
#include "glmv/inference/engine.h"
#include "glmv/inference/preprocess.h"
#include "kernel_bench.h"
#include "make_checkpoint.h"
#include "proc_files.h"

using namespace glmv;
using bench::measure_fma_peak_gflops;
using bench::proc_rollup_bytes;
using bench::proc_status_bytes;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Sums 64-bit words from four places at once (four streams, as the decode kernels read four weight rows), with
// 256-bit loads: a read loop that the memory system, not the core, limits.
__attribute__((target("avx2"))) uint64_t sum_words_avx2(const uint64_t* p, size_t n) {
    const size_t q = n / 4 / 4 * 4;
    const uint64_t *p0 = p, *p1 = p + q, *p2 = p + 2 * q, *p3 = p + 3 * q;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < q; i += 4) {
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0 + i)));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p1 + i)));
        a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p2 + i)));
        a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p3 + i)));
    }
    alignas(32) uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
    uint64_t s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (size_t i = 4 * q; i < n; ++i) s += p[i];
    return s;
}

uint64_t sum_words(const uint64_t* p, size_t n) {
    if (__builtin_cpu_supports("avx2")) return sum_words_avx2(p, n);
    uint64_t s = 0;
    for (size_t i = 0; i < n; ++i) s += p[i];
    return s;
}

// One read pass in chunks of 1 MiB that threads take as they come, each chunk read with software prefetch 1 KiB ahead:
// the access pattern of the decode kernels (dynamic row chunks, prefetch). On the 16-core host bf16 decode streamed
// 1.3x what the static four-stream pass alone read, so that pass was not a ceiling there.
__attribute__((target("avx2"))) uint64_t sum_chunk_prefetch_avx2(const uint64_t* p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0;
    size_t  i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_prefetch(reinterpret_cast<const char*>(p + i) + 1024, _MM_HINT_T0);
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
    }
    alignas(32) uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), _mm256_add_epi64(a0, a1));
    uint64_t s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (; i < n; ++i)
        s += p[i];
    return s;
}

// The probe's buffer comes from the engine's allocator for large blocks (ops.h: 2 MB-aligned, huge pages asked), as
// the quantised weights and activations do: a ceiling read through 4 KB pages would sit below what the weights get
// (16-core host: 125 against 148 GB/s for one product over small and huge pages) and flatter every fraction.
using ProbeBuffer = std::vector<uint64_t, ops::NoInitAllocator<uint64_t>>;

// One read pass of the static kind: each thread its own contiguous share, four streams per thread.
uint64_t read_pass_static(const ProbeBuffer& buf) {
    const size_t n   = buf.size();
    uint64_t     sum = 0;
#pragma omp parallel reduction(+ : sum)
    {
        const size_t nt = size_t(omp_get_num_threads()), t = size_t(omp_get_thread_num());
        const size_t b = n * t / nt, e = n * (t + 1) / nt;
        sum += sum_words(buf.data() + b, e - b);
    }
    return sum;
}

// One read pass in 1 MiB chunks taken dynamically, each read with prefetch (needs AVX2).
uint64_t read_pass_chunks(const ProbeBuffer& buf) {
    const size_t n = buf.size(), chunk = (size_t(1) << 20) / 8;
    uint64_t     sum = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(+ : sum)
    for (size_t c = 0; c < (n + chunk - 1) / chunk; ++c)
        sum += sum_chunk_prefetch_avx2(buf.data() + c * chunk, std::min(chunk, n - c * chunk));
    return sum;
}

// Streaming read bandwidth over a buffer much larger than the caches, all threads: the best of 5 passes of each of
// two patterns (a static split with four streams per thread, and dynamic 1 MiB chunks with prefetch), since a
// ceiling is the most the machine was seen to do. The buffer is 512 MiB or four times the last-level cache,
// whichever is larger: server parts have L3 caches of 300 MB and more, and a buffer that partly stays in cache
// overstates the bandwidth (and so understates every roofline fraction).
double measure_bandwidth_gbs() {
    const long            l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    const size_t          n  = std::max(size_t(512) << 20, size_t(std::max(0L, l3)) * 4) >> 3; // 64-bit words
    ProbeBuffer           buf(n);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; ++i) buf[i] = i;
    const bool avx2 = __builtin_cpu_supports("avx2");
    double     best = 0;
    for (int rep = 0; rep < 10; ++rep) {
        const auto     t0  = Clock::now();
        const uint64_t sum = rep % 2 == 0 || !avx2 ? read_pass_static(buf) : read_pass_chunks(buf);
        const double   sec = seconds_since(t0);
        if (sum == 42) std::puts("");
        best = std::max(best, double(n * 8) / sec / 1e9);
    }
    return best;
}

// The engine's own fp32 matrix-matrix rate on one mid-size product (GFLOP/s), reported for reference only: it is
// not a ceiling (prefill on larger matrices beat it by 1.5-2x), so fractions are taken against the FMA peak below.
double measure_engine_gemm_gflops() {
    const int64_t      M = 512, K = 2048, N = 2048;
    std::vector<float> x(size_t(M * K), 0.5f), w(size_t(N * K), 0.25f), y(size_t(M * N));
    ops::WeightMatrix  wm;
    wm.dtype = DType::f32;
    wm.data  = reinterpret_cast<const uint8_t*>(w.data());
    wm.rows  = N;
    wm.cols  = K;
    double best = 0;
    for (int rep = 0; rep < 4; ++rep) {
        auto t0 = Clock::now();
        ops::linear(x.data(), M, wm, nullptr, y.data());
        best = std::max(best, 2.0 * M * N * K / seconds_since(t0) / 1e9);
    }
    return best;
}

// The machine's measured GEMM peak in the arithmetic the prompt's products run in (GFLOP/s): oneDNN's own product
// of two square 4096 x 4096 matrices (2048 on up to four threads, to keep a small machine's run short; a core's share
// is no smaller), the shape a GEMM library reaches its best rate on, bf16 or fp32 as the model
// multiplies prompts (LoadParams::prompt_arithmetic). The register probes below are stricter ceilings that no library
// product reaches: on the 16-core AMX host oneDNN's products of a 9B layer at 512 rows ran at 0.23-0.26 of the AMX
// tile probe. Both are reported; the best of two timed runs after one that JIT-compiles the kernel.
double measure_library_gemm_gflops(bool bf16) {
    const int64_t n = omp_get_max_threads() > 4 ? 4096 : 2048;
    // The best of two timed runs after the first; 0 where oneDNN refuses.
    auto best_gflops = [n](auto&& product) {
        double best = 0;
        for (int rep = 0; rep < 3; ++rep) {
            const auto t0 = Clock::now();
            if (!product()) return 0.0;
            if (rep > 0) best = std::max(best, 2.0 * n * n * n / seconds_since(t0) / 1e9);
        }
        return best;
    };
    std::vector<float> c(size_t(n * n));
    if (bf16) {
        std::vector<uint16_t> a(size_t(n * n), 0x3F80), b(size_t(n * n), 0x3F00); // 1.0 and 0.5
        return best_gflops([&] { return ops::gemm_bf16(n, n, n, a.data(), n, b.data(), c.data(), n); });
    }
    std::vector<float> a(size_t(n * n), 1.f), b(size_t(n * n), 0.5f);
    ops::GemmOperands  op;
    op.a = a.data(), op.lda = n, op.b = b.data(), op.ldb = n, op.b_columns = true, op.c = c.data(), op.ldc = n;
    return best_gflops([&] { return ops::gemm_f32(n, n, n, op); });
}

// The ceilings again, next to the measurement they judge. On a shared host (the GPU machine's CPU) the bandwidth
// probe read 100-151 GB/s and the FMA probe 1273-2114 GFLOP/s in runs minutes apart, so a fraction taken against a
// probe from the start of the run, a minute and several gigabytes of loading earlier, mostly measured the neighbours.
// Each decode context is judged against a bandwidth probe taken right after its steps, and each prefill and vision
// time against an FMA probe taken right after it; the start-of-run probes are still reported.
//
// The bandwidth probe's buffer (512 MiB or more) is not the engine's memory, so the peak RSS reported is the peak
// outside the probes: the peak so far is kept before each one, and the kernel's high-water mark is reset after it
// and after the start-of-run probes (/proc/self/clear_refs, "5"). Where that reset is refused the start-of-run
// bandwidth is used instead of a new probe.
uint64_t g_peak_rss_outside_probes = 0;

uint64_t peak_rss_outside_probes() {
    return std::max(g_peak_rss_outside_probes, proc_status_bytes("VmHWM:"));
}

// Resets the kernel's high-water mark of this process to its current RSS; false where that is refused.
bool reset_peak_rss() {
    std::ofstream reset("/proc/self/clear_refs");
    reset << "5" << std::flush;
    return bool(reset);
}

// The peak RSS of one part of the run (load and warm-up, a decode context, a prefill, an image, the video, the
// time-to-first-token turns) as peak_rss_bytes_<part>, so a report says which part sets the peak; the mark is then
// reset for the next part.
void note_peak_rss(nlohmann::json& r, const std::string& part) {
    const uint64_t hwm          = proc_status_bytes("VmHWM:");
    r["peak_rss_bytes_" + part] = hwm;
    g_peak_rss_outside_probes   = std::max(g_peak_rss_outside_probes, hwm);
    reset_peak_rss();
}

double bandwidth_probe_here(double start_of_run_gbs) {
    g_peak_rss_outside_probes = peak_rss_outside_probes();
    const double bw           = measure_bandwidth_gbs();
    if (!reset_peak_rss()) return start_of_run_gbs; // the probe's buffer now sits in VmHWM; keep the start reading
    return bw;
}

// The arithmetic ceilings right after a measurement: fp32 FMA, and bf16 where the model multiplies in bf16
// (LoadParams::prompt_arithmetic). A prefill or vision time is judged against the ceiling of the arithmetic it ran
// in (`gemm`), and against the fp32 one as well, which earlier reports used throughout.
struct Ceilings {
    double fp32 = 0, gemm = 0;
    double library = 0; // measure_library_gemm_gflops; 0 where oneDNN cannot run
};
std::string g_bf16_peak_kind = "none";

Ceilings gemm_peaks_here(const Model& m, double engine_gemm) {
    Ceilings     c;
    const double fma = measure_fma_peak_gflops();
    c.fp32 = c.gemm = fma > 0 ? fma : engine_gemm;
    if (m.bf16_prompt_products()) {
        const double bf16 = bench::measure_bf16_peak_gflops(ops::gemm_bf16_impl(), &g_bf16_peak_kind);
        if (bf16 > 0) c.gemm = bf16;
    }
    // Its buffers (128-192 MB) are not the engine's memory: kept out of peak RSS like the bandwidth probe's.
    g_peak_rss_outside_probes = peak_rss_outside_probes();
    if (reset_peak_rss()) {
        c.library = measure_library_gemm_gflops(m.bf16_prompt_products());
        reset_peak_rss();
    }
    return c;
}

std::vector<int> parse_list(const std::string& s) {
    std::vector<int>  r;
    std::stringstream ss(s);
    std::string       item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) r.push_back(std::stoi(item));
    return r;
}

// Text-only prompt of n tokens (ids spread over the vocabulary, avoiding special ids at the top).
ModelInputs text_prompt(const ModelConfig& c, int n, uint64_t seed) {
    ModelInputs in;
    uint64_t    s = seed;
    for (int i = 0; i < n; ++i) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        in.input_ids.push_back(int64_t((s >> 33) % uint64_t(std::max<int64_t>(1, c.text.vocab_size - 1024))));
    }
    return in;
}

// The patch grid the real processor (smart_resize with GLM-4.1V's settings) gives `frames` frames of height × width
// pixels: the bench times what the app would run, so a 16 MP photo is measured at the size it is brought down to.
GridTHW processor_grid(int64_t frames, int64_t height, int64_t width, bool video) {
    const ImageProcessorConfig pc = video ? parse_processor_config("{}", true).value() : ImageProcessorConfig{};
    const int64_t              tp = pc.temporal_patch_size, n = std::max<int64_t>(frames, tp); // an image counts as tp frames
    const auto rs = smart_resize(n, height, width, int(tp), pc.factor(), pc.min_pixels, pc.max_pixels).value();
    return GridTHW{(n + tp - 1) / tp, rs.height / pc.patch_size, rs.width / pc.patch_size};
}

// Random pixel values for a grid's patches.
std::vector<float> random_patches(const ModelConfig& c, const GridTHW& g) {
    std::vector<float> px(size_t(g.patches() * c.vision.patch_dim()));
    for (size_t i = 0; i < px.size(); ++i) px[i] = float((i * 2654435761u) % 1000) / 500.f - 1.f;
    return px;
}

// One square image of about `mp` megapixels, sized by the processor, then a question.
ModelInputs image_prompt(const ModelConfig& c, double mp, int question_tokens) {
    const int64_t side = std::max<int64_t>(28, std::llround(std::sqrt(mp * 1e6)));
    const GridTHW g    = processor_grid(1, side, side, false);
    ModelInputs   in   = text_prompt(c, 4, 7);
    in.input_ids.push_back(c.image_start_token_id);
    for (int64_t i = 0; i < g.h * g.w / 4; ++i) in.input_ids.push_back(c.image_token_id);
    in.input_ids.push_back(c.image_end_token_id);
    auto q = text_prompt(c, question_tokens, 9);
    in.input_ids.insert(in.input_ids.end(), q.input_ids.begin(), q.input_ids.end());
    in.image_grid_thw = {g};
    in.pixel_values   = random_patches(c, g);
    return in;
}

// A 1280×720 video of `frames` sampled frames, laid out as the chat prompt does (chat_prompt.cpp): per pair of
// frames an image-token block and a timestamp token, all inside the video markers.
ModelInputs video_prompt(const ModelConfig& c, int frames, int question_tokens) {
    const GridTHW g  = processor_grid(frames, 720, 1280, true);
    ModelInputs   in = text_prompt(c, 4, 7);
    in.input_ids.push_back(c.video_start_token_id);
    for (int64_t t = 0; t < g.t; ++t) {
        in.input_ids.push_back(c.image_start_token_id);
        for (int64_t i = 0; i < g.h * g.w / 4; ++i) in.input_ids.push_back(c.image_token_id);
        in.input_ids.push_back(c.image_end_token_id);
        in.input_ids.push_back(text_prompt(c, 1, 100 + uint64_t(t)).input_ids[0]);
    }
    in.input_ids.push_back(c.video_end_token_id);
    auto q = text_prompt(c, question_tokens, 9);
    in.input_ids.insert(in.input_ids.end(), q.input_ids.begin(), q.input_ids.end());
    in.video_grid_thw      = {g};
    in.pixel_values_videos = random_patches(c, g);
    return in;
}

// Whether a prompt fits the model's context; one that does not (a large image or a long video on the small test
// models) is reported as skipped, not as a failure.
bool fits_context(const ModelConfig& c, const ModelInputs& in, const std::string& what) {
    if (c.text.max_positions <= 0 || int64_t(in.input_ids.size()) <= c.text.max_positions) return true;
    std::fprintf(stderr, "note: %s skipped: its %zu prompt tokens exceed this model's context (%lld)\n", what.c_str(),
                 in.input_ids.size(), static_cast<long long>(c.text.max_positions));
    return false;
}

// One greedy generation of exactly `max_new_tokens` (no stop token ends it early) in a fresh session, so each
// timing starts from an empty cache.
// The longest context any generate_once held (prompt + new tokens): the KV cache that the peak-RSS budget allows.
int64_t g_longest_context = 0;

// step_ms (optional): the time between consecutive generated tokens, i.e. each decode step.
Result<GenerationResult> generate_once(const std::shared_ptr<const Model>& model, const ModelInputs& in,
                                       int max_new_tokens = 1, std::vector<double>* step_ms = nullptr) {
    g_longest_context = std::max<int64_t>(g_longest_context, int64_t(in.input_ids.size()) + max_new_tokens);
    Session          s(model);
    GenerationParams gp;
    gp.max_new_tokens  = max_new_tokens;
    gp.stop_token_ids  = {-1};
    gp.sampling.greedy = true;
    Clock::time_point last;
    bool              first = true;
    return s.generate(in, gp, [&](int64_t) {
        const auto now = Clock::now();
        if (!first && step_ms) step_ms->push_back(std::chrono::duration<double, std::milli>(now - last).count());
        first = false, last = now;
        return true;
    });
}

int report_failure(const Status& st) {
    std::fprintf(stderr, "error: %s\n", st.message().c_str());
    return 1;
}

// FLOPs of the vision tower for n patches (dominant matmuls + attention).
double vision_flops(const VisionConfig& v, double n_patches, double seq) {
    const double H = double(v.hidden_size), O = double(v.out_hidden_size), I = double(v.intermediate);
    double per_block = 2 * n_patches * (3 * H * H + H * H + 3 * H * O) + 4 * n_patches * seq * H;
    double stem      = 2 * n_patches * double(v.patch_dim()) * H;
    double merger    = 2 * (n_patches / 4) * (4 * H * O + O * O + 3 * O * I);
    return per_block * double(v.depth) + stem + merger;
}

// FLOPs of prefilling n tokens: every decoder layer for each token (attention over n/2 keys on average, causal),
// and the output head once — prefill computes logits for the last row only.
double prefill_flops(const TextConfig& t, double n) {
    const double H = double(t.hidden_size), QD = double(t.n_head * t.head_dim), KD = double(t.n_head_kv * t.head_dim);
    const double I = double(t.intermediate);
    double per_layer = 2 * (H * QD + 2 * H * KD + QD * H + 3 * H * I) + 4 * (n / 2) * QD;
    return n * per_layer * double(t.n_layer) + 2 * H * double(t.vocab_size);
}

// Bytes a decode step reads: all text weights except the embedding table (one row), plus the KV cache.
double decode_bytes_per_token(const Model& m, double ctx) {
    const TextConfig& t     = m.config().text;
    const double      wbytes = double(m.weight_bytes());
    const double      vis    = [&] {
        const VisionConfig& v = m.config().vision;
        double H = double(v.hidden_size), O = double(v.out_hidden_size), I = double(v.intermediate);
        double p = double(v.depth) * (3 * H * H + H * H + 3 * H * O) + double(v.patch_dim()) * H + 4 * H * O + O * O +
                   3 * O * I + double(v.pos_grid() * v.pos_grid()) * H;
        return p * 2;
    }();
    const double embed = double(t.vocab_size * t.hidden_size) * 2;
    const double kv    = ctx * double(t.n_layer * 2 * t.n_head_kv * t.head_dim) * 4; // fp32 cache
    return wbytes - vis - embed + kv;
}

int run_make_checkpoint(int argc, char** argv) {
    std::string config, out;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--config")) config = argv[i + 1];
        else if (!std::strcmp(argv[i], "--out")) out = argv[i + 1];
    }
    if (config.empty() || out.empty()) {
        std::fprintf(stderr, "usage: glmv-bench make-checkpoint --config CONFIG.json --out DIR\n");
        return 2;
    }
    Status st = bench::make_checkpoint(config, out);
    if (!st.ok()) {
        std::fprintf(stderr, "error: %s\n", st.message().c_str());
        return 1;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc >= 2 && !std::strcmp(argv[1], "make-checkpoint")) return run_make_checkpoint(argc, argv);
    // The engine's default thread count (one per physical core unless OMP_NUM_THREADS says otherwise) from the
    // start, so the probes run on the threads the engine will (Model::load applies the same rule).
    ops::use_default_thread_count();
    if (argc >= 2 && !std::strcmp(argv[1], "kernels")) return bench::run_kernel_bench(argc, argv, measure_bandwidth_gbs);
    std::map<std::string, std::string> opt = {{"prefill", "512,4096"}, {"decode-ctx", "512,8192"},
                                              {"vision-mp", "1,4,16"},  {"video-frames", "32"},
                                              {"weights", "bf16"},      {"decode-tokens", "16"},
                                              {"ttft", "yes"}};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strncmp(argv[i], "--", 2) != 0) {
            std::fprintf(stderr, "unexpected argument '%s'\n", argv[i]);
            return 2;
        }
        opt[argv[i] + 2] = argv[i + 1];
    }
    if (!opt.count("model")) {
        std::fprintf(stderr, "usage: glmv-bench --model DIR [--weights bf16|q8|q4] [--json OUT.json] [--prefill LIST] "
                             "[--decode-ctx LIST] [--vision-mp LIST] [--video-frames N] [--threads N]\n"
                             "                  [--prompt-arithmetic auto|exact|bf16]\n"
                             "       glmv-bench make-checkpoint --config CONFIG.json --out DIR\n");
        return 2;
    }
    nlohmann::json r;
    if (opt.count("threads")) omp_set_num_threads(std::stoi(opt["threads"]));
    r["threads"]        = omp_get_max_threads();
    const double bw_gbs = measure_bandwidth_gbs(), fma_peak = measure_fma_peak_gflops();
    const double engine_gemm = measure_engine_gemm_gflops();
    reset_peak_rss(); // the start-of-run probe's buffer is not the engine's (on a small model it was the peak)
    // Prefill and vision are taken against the arithmetic peak; where no FMA unit was found, the engine's rate.
    const double gemm = fma_peak > 0 ? fma_peak : engine_gemm;
    r["memory_bandwidth_gbs"] = bw_gbs;
    r["gemm_peak_gflops"]     = gemm;
    r["engine_gemm_gflops"]   = engine_gemm;

    LoadParams lp;
    lp.weights   = weight_format_named(opt["weights"]);
    lp.n_threads = r["threads"].get<int>(); // the threads the probes ran on (--threads, or the default above)
    if (opt.count("prompt-arithmetic")) {
        const auto a = prompt_arithmetic_named(opt["prompt-arithmetic"]);
        if (!a) {
            std::fprintf(stderr, "--prompt-arithmetic takes auto, exact or bf16\n");
            return 2;
        }
        lp.prompt_arithmetic = *a;
    }
    auto t0    = Clock::now();
    auto model = Model::load(opt["model"], lp);
    if (!model) {
        std::fprintf(stderr, "error: %s\n", model.status().message().c_str());
        return 1;
    }
    const Model& m = *model.value();
    r["weights"]             = opt["weights"];
    // What the decoder runs in: a folder written by glmv-cli quantize keeps its own format under --weights bf16.
    r["weight_format"]        = weight_format_name(m.weight_format());
    r["load_ms"]             = seconds_since(t0) * 1e3;
    r["prompt_products"]      = m.bf16_prompt_products() ? "bf16" : "fp32";
    r["onednn_kernel"]        = m.bf16_prompt_products() ? ops::gemm_bf16_impl() : ops::gemm_impl();
    r["weight_bytes"]        = m.weight_bytes();
    r["rss_after_load_bytes"] = proc_status_bytes("VmRSS:");
    // How much of the weights the kernel placed in transparent huge pages (decode streams them every token).
    r["anon_huge_pages_bytes_after_load"] = proc_rollup_bytes("AnonHugePages:");
    const ModelConfig& c     = m.config();

    // Warm-up: one short image chat touches every weight page of the mapping (vision tower and decoder), so the
    // first timed run does not pay for faulting in gigabytes that the load step mapped but did not read.
    {
        const auto t_warm = Clock::now();
        if (auto res = generate_once(model.value(), image_prompt(c, 0.05, 16)); !res) return report_failure(res.status());
        r["warmup_ms"] = seconds_since(t_warm) * 1e3;
        note_peak_rss(r, "load");
    }

    // Decode at each context: prefill a context, then time decode steps.
    const int n_decode = std::stoi(opt["decode-tokens"]);
    for (int ctx : parse_list(opt["decode-ctx"])) {
        std::vector<double> steps;
        decode_phases::reset();
        auto res = generate_once(model.value(), text_prompt(c, ctx, 1), n_decode + 1, &steps);
        if (!res) return report_failure(res.status());
        note_peak_rss(r, "decode_ctx" + std::to_string(ctx));
        // With GLMV_DECODE_PHASES=1: the decoder's time per single-token step by phase (decode_phases.h).
        if (decode_phases::enabled() && decode_phases::steps() > 0) {
            double total = 0;
            for (int p = 0; p < decode_phases::count; ++p) {
                const auto   phase = decode_phases::Phase(p);
                const double ms    = decode_phases::seconds(phase) * 1e3 / double(decode_phases::steps());
                r["decode_phase_ms_" + std::string(decode_phases::name(phase)) + "_ctx" + std::to_string(ctx)] = ms;
                total += ms;
            }
            r["decode_phase_ms_total_ctx" + std::to_string(ctx)] = total;
        }
        if (!steps.empty()) {
            // The slowest step against the median: a step that copies the KV cache or waits on something shows here.
            std::sort(steps.begin(), steps.end());
            const double median                                        = steps[steps.size() / 2];
            r["decode_step_median_ms_ctx" + std::to_string(ctx)]       = median;
            r["decode_step_max_over_median_ctx" + std::to_string(ctx)] = steps.back() / median;
        }
        const double bw_here                                        = bandwidth_probe_here(bw_gbs);
        const double tps      = double(n_decode) / (res->decode_ms / 1e3);
        const double roofline                                       = bw_here * 1e9 / decode_bytes_per_token(m, ctx);
        r["decode_bandwidth_gbs_ctx" + std::to_string(ctx)]         = bw_here;
        r["decode_tokens_per_s_ctx" + std::to_string(ctx)]       = tps;
        r["decode_roofline_tokens_per_s_ctx" + std::to_string(ctx)] = roofline;
        r["decode_roofline_fraction_ctx" + std::to_string(ctx)] = tps / roofline;
        if (!r.contains("decode_tokens_per_s")) {
            r["decode_tokens_per_s"]      = tps;
            r["decode_roofline_fraction"] = tps / roofline;
            r["rss_after_first_decode_bytes"] = proc_status_bytes("VmRSS:");
        }
        // This context's prefill is not reported as a prefill measurement: its FMA probe would come after the
        // decode steps, when the cores have cooled during memory-bound work and burst above the clock a long
        // product runs at (2060-2430 GFLOP/s read there on the 16-core host against 1350-1400 right after a
        // prefill). The prefill list below times each length on its own.
    }
    for (int n : parse_list(opt["prefill"])) {
        auto res = generate_once(model.value(), text_prompt(c, n, 2));
        if (!res) return report_failure(res.status());
        note_peak_rss(r, "prefill_" + std::to_string(n));
        const double   pf_tps                                = double(n) / (res->prefill_ms / 1e3);
        const double   gflops                                = prefill_flops(c.text, n) / (res->prefill_ms / 1e3) / 1e9;
        const Ceilings here                                  = gemm_peaks_here(m, engine_gemm);
        r["prefill_tokens_per_s_" + std::to_string(n)]       = pf_tps;
        r["prefill_gemm_peak_gflops_" + std::to_string(n)]   = here.gemm;
        r["prefill_gemm_fraction_" + std::to_string(n)]      = gflops / here.gemm;
        r["prefill_fp32_peak_gflops_" + std::to_string(n)]   = here.fp32;
        r["prefill_fp32_peak_fraction_" + std::to_string(n)] = gflops / here.fp32;
        if (here.library > 0) {
            r["prefill_library_gemm_gflops_" + std::to_string(n)]   = here.library;
            r["prefill_library_gemm_fraction_" + std::to_string(n)] = gflops / here.library;
        }
    }
    {
        auto lst = parse_list(opt["prefill"]);
        if (!lst.empty()) {
            r["prefill_tokens_per_s"]   = r["prefill_tokens_per_s_" + std::to_string(lst.front())];
            r["prefill_gemm_fraction"]  = r["prefill_gemm_fraction_" + std::to_string(lst.front())];
        }
    }
    // Vision encode per image size, and TTFT for a 1024×768 image plus a question (turn 1 and follow-up turn 2).
    for (int mp : parse_list(opt["vision-mp"])) {
        ModelInputs in = image_prompt(c, mp, 8);
        if (!fits_context(c, in, std::to_string(mp) + " MP image")) continue;
        auto res = generate_once(model.value(), in);
        if (!res) return report_failure(res.status());
        note_peak_rss(r, "vision_" + std::to_string(mp) + "mp");
        const double      n                    = double(in.image_grid_thw[0].patches());
        const double      gflops               = vision_flops(c.vision, n, n) / (res->vision_ms / 1e3) / 1e9;
        const Ceilings    here                 = gemm_peaks_here(m, engine_gemm);
        const std::string size                 = std::to_string(mp) + "mp";
        r["vision_gemm_peak_gflops_" + size]   = here.gemm;
        r["vision_ms_" + size]                 = res->vision_ms;
        r["vision_patches_" + size]            = n;
        r["vision_gemm_fraction_" + size]      = gflops / here.gemm;
        r["vision_fp32_peak_fraction_" + size] = gflops / here.fp32;
        if (here.library > 0) {
            r["vision_library_gemm_gflops_" + size]   = here.library;
            r["vision_library_gemm_fraction_" + size] = gflops / here.library;
        }
    }
    // Vision encode of a video: frames are encoded in pairs (temporal patches), each pair attending within itself.
    if (const int frames = std::stoi(opt["video-frames"]); frames > 0) {
        const ModelInputs in = video_prompt(c, frames, 8);
        if (fits_context(c, in, "video of " + std::to_string(frames) + " frames")) {
            auto res = generate_once(model.value(), in);
            if (!res) return report_failure(res.status());
            note_peak_rss(r, "video");
            const GridTHW& g = in.video_grid_thw[0];
            const double   gflops =
                vision_flops(c.vision, double(g.patches()), double(g.h * g.w)) / (res->vision_ms / 1e3) / 1e9;
            const Ceilings here                  = gemm_peaks_here(m, engine_gemm);
            r["video_gemm_peak_gflops"]          = here.gemm;
            r["video_frames"]                    = frames;
            r["video_patches"]                   = g.patches();
            r["video_vision_ms"]                 = res->vision_ms;
            r["video_vision_gemm_fraction"]      = gflops / here.gemm;
            r["video_vision_fp32_peak_fraction"] = gflops / here.fp32;
            if (here.library > 0) r["video_vision_library_gemm_fraction"] = gflops / here.library;
        }
    }
    if (opt["ttft"] != "no") {
        ModelInputs in = image_prompt(c, 1024.0 * 768 / 1e6, 12);
        Session     s(model.value());
        GenerationParams gp;
        gp.max_new_tokens  = 2;
        gp.sampling.greedy = true;
        auto t1 = s.generate(in, gp, [](int64_t) { return true; });
        if (!t1) return report_failure(t1.status());
        r["ttft_ms"] = t1->time_to_first_token_ms;
        ModelInputs in2 = in;
        in2.input_ids.insert(in2.input_ids.end(), t1->tokens.begin(), t1->tokens.end());
        auto q = text_prompt(c, 12, 11);
        in2.input_ids.insert(in2.input_ids.end(), q.input_ids.begin(), q.input_ids.end());
        auto t2 = s.generate(in2, gp, [](int64_t) { return true; });
        if (!t2) return report_failure(t2.status());
        note_peak_rss(r, "ttft");
        r["ttft_turn2_ms"]       = t2->time_to_first_token_ms;
        r["ttft_turn2_fraction"] = t2->time_to_first_token_ms / t1->time_to_first_token_ms;
    }
    // The arithmetic the GEMM fractions above are taken against: "fp32_fma", or the bf16 instructions probed.
    r["gemm_peak_arithmetic"] = m.bf16_prompt_products() ? g_bf16_peak_kind : std::string("fp32_fma");
    r["peak_rss_bytes"] = peak_rss_outside_probes();
    {   // The target: peak RSS within weights + the largest KV cache used (fp32) + 10 %.
        const TextConfig& t  = c.text;
        const double      kv = double(g_longest_context) * double(t.n_layer * 2 * t.n_head_kv * t.head_dim) * 4;
        const double      budget = 1.1 * (double(m.weight_bytes()) + kv);
        r["kv_cache_bytes_longest"]      = kv;
        r["peak_rss_budget_bytes"]       = budget;
        r["peak_rss_fraction_of_budget"] = double(r["peak_rss_bytes"].get<uint64_t>()) / budget;
    }

    std::printf("%-40s %s\n", "metric", "value");
    for (auto it = r.begin(); it != r.end(); ++it) std::printf("%-40s %s\n", it.key().c_str(), it.value().dump().c_str());
    if (opt.count("json")) std::ofstream(opt["json"]) << r.dump(1) << "\n";
    return 0;
}
