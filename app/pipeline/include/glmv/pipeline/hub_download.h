// Downloads a model repository from Hugging Face (or a mirror: HF_ENDPOINT, --endpoint) or ModelScope into a folder:
// file list from the hub's API, each file fetched to NAME.part with HTTP Range resume, verified against the hub's
// sha256 (LFS files) or git blob id (small files), then renamed into place. Nothing is loaded until it verifies.
//
//   glmv::pipeline::HubDownloadOptions o;
//   o.repo = "zai-org/GLM-4.1V-9B-Thinking";  o.out_dir = "/models/GLM-4.1V-9B-Thinking";
//   auto r = glmv::pipeline::download_repo(o, [](const glmv::pipeline::DownloadProgress& p) { draw(p); return true; });
//
// The network is touched only by this (a user-started download).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "glmv/common/status.h"

namespace glmv::pipeline {

enum class Hub { huggingface, modelscope };

struct HubDownloadOptions {
    std::string repo;              // "owner/name"
    std::string out_dir;
    std::string revision = "main"; // ModelScope: "master"
    std::string endpoint;          // empty: $HF_ENDPOINT or https://huggingface.co; https://modelscope.cn for ModelScope
    Hub         hub      = Hub::huggingface;
    std::string token;             // optional bearer token ($HF_TOKEN)
    int         retries  = 5;      // per file, resuming where the last attempt stopped
};

struct HubFile {
    std::string path;
    uint64_t    size = 0;
    std::string sha256;  // LFS files (hex), empty when unknown
    std::string git_oid; // git blob id (hex sha1) of non-LFS files
};

struct DownloadProgress {
    std::string file;
    uint64_t    file_done = 0, file_total = 0;
    uint64_t    done = 0, total = 0; // all files
    double      bytes_per_s = 0;
    double      eta_s       = 0;
};

struct DownloadPlan {
    std::vector<HubFile> files;
    uint64_t             total_bytes   = 0;
    uint64_t             weight_bytes  = 0; // *.safetensors
    uint64_t             missing_bytes = 0; // still to fetch
};

// Lists the repository's files (no download).
Result<DownloadPlan> plan_download(const HubDownloadOptions& options);

// Checks free disk space, downloads what is missing or incomplete, verifies every file. `on_progress` returns false
// to cancel (the .part files stay for a later resume).
Result<DownloadPlan> download_repo(const HubDownloadOptions& options,
                                   const std::function<bool(const DownloadProgress&)>& on_progress);

// Hex digests of a file (OpenSSL).
Result<std::string> file_sha256(const std::string& path);
Result<std::string> file_git_blob_id(const std::string& path);

} // namespace glmv::pipeline
