#include "glmv/pipeline/hub_download.h"

#include <httplib.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "glmv/common/disk_space.h"

namespace glmv::pipeline {

using json   = nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Endpoint {
    std::string host;   // scheme://host[:port]
    std::string prefix; // path prefix, no trailing slash
};

Result<Endpoint> parse_endpoint(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    auto scheme = url.find("://");
    if (scheme == std::string::npos || (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0))
        return Status(ErrorCode::invalid_argument, "the hub endpoint must be an http(s) URL (got '" + url + "')");
    auto slash = url.find('/', scheme + 3);
    return Endpoint{slash == std::string::npos ? url : url.substr(0, slash), slash == std::string::npos ? "" : url.substr(slash)};
}

std::string default_endpoint(const HubDownloadOptions& o) {
    if (!o.endpoint.empty()) return o.endpoint;
    if (o.hub == Hub::modelscope) return "https://modelscope.cn";
    if (const char* e = std::getenv("HF_ENDPOINT"); e && *e) return e;
    return "https://huggingface.co";
}

std::string url_encode_path(const std::string& p) {
    static const char* hex = "0123456789ABCDEF";
    std::string        out;
    for (unsigned char c : p) {
        if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') out += char(c);
        else out += {'%', hex[c >> 4], hex[c & 15]};
    }
    return out;
}

bool safe_path(const std::string& p) {
    return !p.empty() && p[0] != '/' && p.find("..") == std::string::npos && p.find('\\') == std::string::npos;
}

httplib::Headers auth_headers(const HubDownloadOptions& o) {
    httplib::Headers h;
    std::string      token = o.token;
    if (token.empty())
        if (const char* t = std::getenv("HF_TOKEN"); t && o.hub == Hub::huggingface) token = t;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    h.emplace("User-Agent", "glmv-desktop");
    return h;
}

std::string file_url(const HubDownloadOptions& o, const Endpoint& e, const std::string& path) {
    if (o.hub == Hub::modelscope)
        return e.prefix + "/api/v1/models/" + o.repo + "/repo?Revision=" + o.revision + "&FilePath=" + url_encode_path(path);
    return e.prefix + "/" + o.repo + "/resolve/" + o.revision + "/" + url_encode_path(path);
}

Result<std::string> digest_file(const std::string& path, const EVP_MD* md, const std::string& prefix) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return Status(ErrorCode::io_error, "cannot read '" + path + "'");
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, md, nullptr);
    EVP_DigestUpdate(ctx, prefix.data(), prefix.size());
    std::vector<char> buf(1 << 20);
    while (f) {
        f.read(buf.data(), std::streamsize(buf.size()));
        EVP_DigestUpdate(ctx, buf.data(), size_t(f.gcount()));
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int  n = 0;
    EVP_DigestFinal_ex(ctx, out, &n);
    EVP_MD_CTX_free(ctx);
    static const char* hex = "0123456789abcdef";
    std::string        s;
    for (unsigned i = 0; i < n; ++i) s += {hex[out[i] >> 4], hex[out[i] & 15]};
    return s;
}

Status verify(const HubFile& f, const std::string& path) {
    std::error_code ec;
    const uint64_t  size = fs::file_size(path, ec);
    if (ec || size != f.size)
        return Status(ErrorCode::bad_format, f.path + ": " + std::to_string(ec ? 0 : size) + " bytes, the hub says " +
                                                 std::to_string(f.size));
    if (!f.sha256.empty()) {
        auto h = file_sha256(path);
        if (!h) return h.status();
        if (*h != f.sha256) return Status(ErrorCode::bad_format, f.path + ": sha256 " + *h + " does not match the hub's " + f.sha256);
    } else if (!f.git_oid.empty()) {
        auto h = file_git_blob_id(path);
        if (!h) return h.status();
        if (*h != f.git_oid) return Status(ErrorCode::bad_format, f.path + ": git blob id does not match the hub's");
    }
    return {};
}

} // namespace

Result<std::string> file_sha256(const std::string& path) { return digest_file(path, EVP_sha256(), ""); }

Result<std::string> file_git_blob_id(const std::string& path) {
    std::error_code ec;
    auto            size = fs::file_size(path, ec);
    if (ec) return Status(ErrorCode::io_error, "cannot read '" + path + "'");
    return digest_file(path, EVP_sha1(), "blob " + std::to_string(size) + std::string(1, '\0'));
}

Result<DownloadPlan> plan_download(const HubDownloadOptions& o) {
    if (o.repo.empty() || o.repo.find("..") != std::string::npos || o.repo.find('/') == std::string::npos)
        return Status(ErrorCode::invalid_argument, "the repository must look like owner/name (got '" + o.repo + "')");
    auto ep = parse_endpoint(default_endpoint(o));
    if (!ep) return ep.status();
    httplib::Client cli(ep->host);
    cli.set_follow_location(true);
    cli.set_connection_timeout(15, 0);
    cli.set_read_timeout(60, 0);
    const std::string list_path = o.hub == Hub::modelscope
                                      ? ep->prefix + "/api/v1/models/" + o.repo + "/repo/files?Revision=" + o.revision + "&Recursive=true"
                                      : ep->prefix + "/api/models/" + o.repo + "/tree/" + o.revision + "?recursive=true";
    auto res = cli.Get(list_path, auth_headers(o));
    if (!res)
        return Status(ErrorCode::io_error, "cannot reach " + ep->host + " (" + httplib::to_string(res.error()) +
                                               "); check the network or set HF_ENDPOINT to a mirror");
    if (res->status == 401 || res->status == 403)
        return Status(ErrorCode::io_error, o.repo + " needs a login: set HF_TOKEN (HTTP " + std::to_string(res->status) + ")");
    if (res->status == 404) return Status(ErrorCode::not_found, "no repository '" + o.repo + "' on " + ep->host);
    if (res->status != 200) return Status(ErrorCode::io_error, "the hub answered HTTP " + std::to_string(res->status));
    DownloadPlan plan;
    try {
        json j = json::parse(res->body);
        const json& entries = o.hub == Hub::modelscope ? j.at("Data").at("Files") : j;
        for (const json& e : entries) {
            HubFile f;
            if (o.hub == Hub::modelscope) {
                if (e.value("Type", "") != "blob") continue;
                f.path   = e.at("Path");
                f.size   = e.at("Size");
                f.sha256 = e.value("Sha256", "");
            } else {
                if (e.value("type", "") != "file") continue;
                f.path = e.at("path");
                f.size = e.at("size");
                if (e.contains("lfs") && e["lfs"].is_object()) f.sha256 = e["lfs"].value("oid", "");
                else f.git_oid = e.value("oid", "");
            }
            if (!safe_path(f.path)) return Status(ErrorCode::bad_format, "the hub lists an unsafe path '" + f.path + "'");
            plan.total_bytes += f.size;
            if (f.path.size() > 12 && f.path.substr(f.path.size() - 12) == ".safetensors") plan.weight_bytes += f.size;
            plan.files.push_back(std::move(f));
        }
    } catch (const std::exception& e) {
        return Status(ErrorCode::bad_format, "unexpected file list from the hub: " + std::string(e.what()));
    }
    if (plan.files.empty()) return Status(ErrorCode::not_found, o.repo + " has no files at revision " + o.revision);
    for (const HubFile& f : plan.files) {
        std::error_code ec;
        const fs::path  final_path = fs::path(o.out_dir) / f.path;
        if (fs::exists(final_path, ec) && fs::file_size(final_path, ec) == f.size) continue;
        const uint64_t have = fs::exists(final_path.string() + ".part", ec) ? fs::file_size(final_path.string() + ".part", ec) : 0;
        plan.missing_bytes += f.size - std::min(have, f.size);
    }
    return plan;
}

Result<DownloadPlan> download_repo(const HubDownloadOptions& o, const std::function<bool(const DownloadProgress&)>& on_progress) {
    auto plan = plan_download(o);
    if (!plan) return plan.status();
    std::error_code ec;
    fs::create_directories(o.out_dir, ec);
    if (ec) return Status(ErrorCode::io_error, "cannot create '" + o.out_dir + "': " + ec.message());
    GLMV_RETURN_IF_ERROR(ensure_free_space(o.out_dir, plan->missing_bytes));
    auto ep = parse_endpoint(default_endpoint(o));
    if (!ep) return ep.status();
    DownloadProgress p;
    p.total          = plan->total_bytes;
    const auto start = std::chrono::steady_clock::now();
    uint64_t   fetched_this_run = 0;
    auto       report = [&]() {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        p.bytes_per_s  = s > 0 ? double(fetched_this_run) / s : 0;
        p.eta_s        = p.bytes_per_s > 0 ? double(p.total - p.done) / p.bytes_per_s : 0;
        return on_progress ? on_progress(p) : true;
    };
    for (const HubFile& f : plan->files) {
        const fs::path final_path = fs::path(o.out_dir) / f.path;
        const std::string part    = final_path.string() + ".part";
        fs::create_directories(final_path.parent_path(), ec);
        p.file       = f.path;
        p.file_total = f.size;
        if (fs::exists(final_path, ec) && fs::file_size(final_path, ec) == f.size && verify(f, final_path.string()).ok()) {
            p.done += f.size;
            p.file_done = f.size;
            if (!report()) return Status(ErrorCode::cancelled, "download cancelled");
            continue;
        }
        Status last;
        for (int attempt = 0; attempt <= o.retries; ++attempt) {
            uint64_t have = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
            if (have > f.size) {
                fs::remove(part, ec);
                have = 0;
            }
            p.file_done = have;
            if (have < f.size || f.size == 0) {
                httplib::Client cli(ep->host);
                cli.set_follow_location(true);
                cli.set_connection_timeout(15, 0);
                cli.set_read_timeout(60, 0);
                httplib::Headers h = auth_headers(o);
                if (have > 0) h.emplace("Range", "bytes=" + std::to_string(have) + "-");
                std::ofstream out;
                bool          cancelled = false, restart = false;
                int           status    = 0;
                auto res = cli.Get(
                    file_url(o, *ep, f.path), h,
                    [&](const httplib::Response& r) {
                        status = r.status;
                        if (r.status == 200 && have > 0) restart = true; // the server ignored the Range: start over
                        if (r.status != 200 && r.status != 206) return false;
                        out.open(part, std::ios::binary | (restart || have == 0 ? std::ios::trunc : std::ios::app));
                        if (restart) p.file_done = 0;
                        return bool(out);
                    },
                    [&](const char* data, size_t n) {
                        out.write(data, std::streamsize(n));
                        p.file_done += n;
                        p.done += n;
                        fetched_this_run += n;
                        if (!report()) {
                            cancelled = true;
                            return false;
                        }
                        return bool(out);
                    });
                out.close();
                if (cancelled) return Status(ErrorCode::cancelled, "download cancelled; run it again to resume");
                if (status == 401 || status == 403 || status == 404)
                    return Status(ErrorCode::io_error, f.path + ": the hub answered HTTP " + std::to_string(status));
                if (!res || (status != 200 && status != 206)) {
                    last = Status(ErrorCode::io_error, f.path + ": transfer interrupted (" +
                                                           (res ? "HTTP " + std::to_string(status) : httplib::to_string(res.error())) +
                                                           "), resuming");
                    // Count only what actually reached the disk.
                    const uint64_t now_have = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
                    p.done -= (p.file_done - now_have);
                    continue;
                }
            }
            const uint64_t got = fs::exists(part, ec) ? fs::file_size(part, ec) : 0;
            if (got < f.size) { // the connection ended early: resume
                last = Status(ErrorCode::io_error, f.path + ": transfer ended after " + std::to_string(got) + " of " +
                                                       std::to_string(f.size) + " bytes");
                continue;
            }
            Status v = verify(f, part);
            if (!v.ok()) {
                fs::remove(part, ec); // never keep (or later load) a corrupt file
                return v.with_context("download of " + o.repo + " failed verification");
            }
            fs::rename(part, final_path, ec);
            if (ec) return Status(ErrorCode::io_error, "cannot move " + part + " into place: " + ec.message());
            last = Status();
            break;
        }
        if (!last.ok()) return last;
    }
    return plan;
}

} // namespace glmv::pipeline
