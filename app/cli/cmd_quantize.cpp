// glmv-cli quantize: write a q8/q4 copy of a model folder once, so later loads map it instead of quantising
// (format and guarantees: glmv/inference/quantize.h). Ctrl+C cancels and leaves nothing behind.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "command.h"
#include "glmv/inference/quantize.h"
#include "progress.h"

namespace glmv::cli {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_sigint(int) {
    g_interrupted = 1;
}

int run_quantize(Args& args) {
    auto model = args.get("model");
    auto out   = args.get("out");
    auto fmt   = args.get("weights");
    if (!model || !out || !fmt || (*fmt != "q8" && *fmt != "q4")) {
        fail("usage: glmv-cli quantize --model DIR --weights q8|q4 --out OUTDIR [--force]  (bf16 is the original "
             "folder itself)");
        return 2;
    }
    QuantizeParams qp;
    qp.weights = *fmt == "q8" ? WeightFormat::q8 : WeightFormat::q4;
    qp.force   = args.has("force");

    std::signal(SIGINT, on_sigint);
    ProgressBar bar;
    const auto  start = std::chrono::steady_clock::now();
    qp.on_progress    = [&](const QuantizeProgress& p) {
        const double s    = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double rate = s > 0 ? double(p.done_bytes) / s : 0;
        const double eta  = rate > 0 ? double(p.total_bytes - p.done_bytes) / rate : 0;
        bar.update(p.done_bytes, p.total_bytes, rate, eta, p.item, p.done_bytes == p.total_bytes);
        return g_interrupted == 0;
    };
    std::fprintf(stderr, "quantising %s to %s into %s\n", model->c_str(), fmt->c_str(), out->c_str());
    auto r = quantize_model(*model, *out, qp);
    bar.finish();
    std::signal(SIGINT, SIG_DFL);
    if (!r) {
        if (r.status().code() == ErrorCode::cancelled) return fail("cancelled; " + *out + " was not written");
        return fail(r.status().message());
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "wrote %s (%s) in %.1f s; load it with --model %s\n", r->out_dir.c_str(),
                 human_bytes(double(r->bytes)).c_str(), s, r->out_dir.c_str());
    std::printf("%s\n",
                nlohmann::json{
                    {"out", r->out_dir}, {"weights", *fmt}, {"files", r->n_files}, {"bytes", r->bytes}, {"seconds", s}}
                    .dump()
                    .c_str());
    return 0;
}

Registrar reg_quantize("quantize",
                       "--model DIR --weights q8|q4 --out OUTDIR [--force]   write a quantised copy of a model folder "
                       "(loads without quantising)",
                       run_quantize);

} // namespace
} // namespace glmv::cli
