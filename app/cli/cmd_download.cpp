// glmv-cli download: fetch a model repository (default zai-org/GLM-4.1V-9B-Thinking) from Hugging Face, a mirror
// (HF_ENDPOINT / --endpoint) or ModelScope (--hub modelscope), with resume and sha256 verification.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "command.h"
#include "glmv/pipeline/hub_download.h"
#include "progress.h"

namespace glmv::cli {
namespace {

int run_download(Args& args) {
    pipeline::HubDownloadOptions o;
    o.repo = args.positional().empty() ? "zai-org/GLM-4.1V-9B-Thinking" : args.positional()[0];
    const std::string hub = args.get_or("hub", "hf");
    if (hub != "hf" && hub != "modelscope") return fail("--hub must be hf or modelscope");
    o.hub      = hub == "modelscope" ? pipeline::Hub::modelscope : pipeline::Hub::huggingface;
    o.revision = args.get_or("revision", o.hub == pipeline::Hub::modelscope ? "master" : "main");
    o.endpoint = args.get_or("endpoint", "");
    o.out_dir  = args.get_or("out", std::filesystem::path(o.repo).filename().string());
    auto plan  = pipeline::plan_download(o);
    if (!plan) return fail(plan.status().message());
    const double w = double(plan->weight_bytes);
    std::fprintf(stderr,
                 "%s: %zu files, %s (%s of weights), %s still to download into %s\n"
                 "memory to run it: bf16 ≈ %s, q8 ≈ %s, q4 ≈ %s (plus the KV cache)\n",
                 o.repo.c_str(), plan->files.size(), human_bytes(double(plan->total_bytes)).c_str(),
                 human_bytes(w).c_str(), human_bytes(double(plan->missing_bytes)).c_str(), o.out_dir.c_str(),
                 human_bytes(w).c_str(), human_bytes(w * 0.63).c_str(), human_bytes(w * 0.39).c_str());
    ProgressBar bar;
    auto        r = pipeline::download_repo(o, [&](const pipeline::DownloadProgress& p) {
        bar.update(p.done, p.total, p.bytes_per_s, p.eta_s, p.file, p.file_done >= p.file_total);
        return true;
    });
    bar.finish();
    if (!r) return fail(r.status().message());
    std::printf("%s\n", nlohmann::json{{"out", o.out_dir}, {"files", r->files.size()}, {"bytes", r->total_bytes}}.dump().c_str());
    return 0;
}

Registrar reg_download("download",
                       "[REPO] [--out DIR] [--endpoint URL] [--hub hf|modelscope] [--revision R]   fetch a model "
                       "(resumable, sha256-verified)",
                       run_download);

} // namespace
} // namespace glmv::cli
