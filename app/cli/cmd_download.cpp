// glmv-cli download: fetch a model repository (default zai-org/GLM-4.1V-9B-Thinking) from Hugging Face, a mirror
// (HF_ENDPOINT / --endpoint) or ModelScope (--hub modelscope), with resume and sha256 verification.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "command.h"
#include "glmv/pipeline/hub_download.h"

namespace glmv::cli {
namespace {

std::string human(double bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    int         u       = 0;
    while (bytes >= 1000 && u < 4) bytes /= 1000, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
    return buf;
}

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
                 o.repo.c_str(), plan->files.size(), human(double(plan->total_bytes)).c_str(), human(w).c_str(),
                 human(double(plan->missing_bytes)).c_str(), o.out_dir.c_str(), human(w).c_str(), human(w * 0.63).c_str(),
                 human(w * 0.39).c_str());
    const bool tty  = isatty(STDERR_FILENO);
    auto       last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    auto r = pipeline::download_repo(o, [&](const pipeline::DownloadProgress& p) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::milliseconds(tty ? 200 : 2000) && p.file_done < p.file_total) return true;
        last              = now;
        const double frac = p.total ? double(p.done) / double(p.total) : 1.0;
        const int    bar  = int(frac * 30);
        std::fprintf(stderr, "%s[%-30s] %3.0f%% %s / %s  %s/s  ETA %.0f s  %s%s", tty ? "\r" : "",
                     std::string(size_t(bar), '#').c_str(), 100 * frac, human(double(p.done)).c_str(),
                     human(double(p.total)).c_str(), human(p.bytes_per_s).c_str(), p.eta_s, p.file.c_str(),
                     tty ? "   " : "\n");
        return true;
    });
    if (tty) std::fprintf(stderr, "\n");
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
