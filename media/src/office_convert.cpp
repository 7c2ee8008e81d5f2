// Office → PDF through LibreOffice's headless converter, as a child process (posix_spawn, no shell).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "glmv/media/office.h"

extern char** environ;

namespace glmv::media {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

bool is_executable(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

Status not_installed() {
    return make_error(ErrorCode::unsupported,
                      "LibreOffice is not installed, so Office documents cannot be converted: install LibreOffice "
                      "(Debian/Ubuntu: sudo apt install libreoffice-impress libreoffice-writer; macOS/Windows: "
                      "https://www.libreoffice.org) or export the document to PDF and attach the PDF");
}

} // namespace

bool is_office_document(const std::string& path) {
    static const char* exts[] = {".ppt", ".pptx", ".pps", ".ppsx", ".doc", ".docx", ".odp",
                                 ".odt", ".rtf",  ".xls", ".xlsx", ".ods"};
    std::string ext = lower(fs::path(path).extension().string());
    return std::any_of(std::begin(exts), std::end(exts), [&](const char* e) { return ext == e; });
}

std::optional<std::string> find_soffice() {
    if (const char* path = std::getenv("PATH")) {
        std::string all = path;
        size_t      start = 0;
        while (start <= all.size()) {
            size_t      end = all.find(':', start);
            std::string dir = all.substr(start, end == std::string::npos ? std::string::npos : end - start);
            if (!dir.empty())
                for (const char* name : {"soffice", "libreoffice"})
                    if (is_executable(dir + "/" + name)) return dir + "/" + name;
            if (end == std::string::npos) break;
            start = end + 1;
        }
    }
    for (const char* p : {"/usr/lib/libreoffice/program/soffice", "/opt/libreoffice/program/soffice",
                          "/Applications/LibreOffice.app/Contents/MacOS/soffice"})
        if (is_executable(p)) return std::string(p);
    return std::nullopt;
}

Result<std::string> convert_office_to_pdf(const std::string& input, const std::string& out_dir,
                                          const OfficeConvertParams& params) {
    std::error_code ec;
    if (!fs::is_regular_file(input, ec)) return make_error(ErrorCode::not_found, input + ": file not found");
    if (fs::file_size(input, ec) > limits::office_max_file_bytes)
        return make_error(ErrorCode::out_of_range, input + ": document is larger than 256 MiB");
    if (!fs::is_directory(out_dir, ec)) return make_error(ErrorCode::invalid_argument, out_dir + ": not a directory");
    std::string soffice = params.soffice;
    if (soffice.empty()) {
        auto found = find_soffice();
        if (!found) return not_installed();
        soffice = *found;
    } else if (!is_executable(soffice)) {
        return not_installed();
    }
    // A private profile: a running LibreOffice would otherwise swallow the request, and a crashed conversion could
    // leave a lock in the user's profile.
    fs::path profile = fs::path(out_dir) / (".lo-profile-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(profile, ec);
    std::string              env_arg = "-env:UserInstallation=file://" + fs::absolute(profile).string();
    std::vector<std::string> args    = {soffice, env_arg, "--headless", "--invisible", "--norestore", "--nologo",
                                        "--nolockcheck", "--convert-to", "pdf", "--outdir", out_dir, input};
    std::vector<char*>       argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    int   rc  = posix_spawn(&pid, soffice.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        fs::remove_all(profile, ec);
        return make_error(ErrorCode::io_error, "cannot start LibreOffice (" + std::string(std::strerror(rc)) + ")");
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(params.timeout_s);
    int        wstatus  = 0;
    Status     failure;
    for (;;) {
        pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) {
            failure = make_error(ErrorCode::io_error, "lost track of the LibreOffice process");
            break;
        }
        const bool cancelled = params.cancel && params.cancel->load(std::memory_order_relaxed);
        if (cancelled || std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &wstatus, 0);
            failure = cancelled ? make_error(ErrorCode::cancelled, "document conversion was cancelled")
                                : make_error(ErrorCode::out_of_range, "LibreOffice did not finish converting within " +
                                                                          std::to_string(params.timeout_s) + " s");
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    fs::remove_all(profile, ec);
    if (!failure.ok()) return failure.with_context(input);
    fs::path pdf = fs::path(out_dir) / fs::path(input).filename().replace_extension(".pdf");
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0 || !fs::is_regular_file(pdf, ec) || fs::file_size(pdf, ec) == 0)
        return make_error(ErrorCode::bad_format, input + ": LibreOffice could not convert the document to PDF "
                                                         "(is it damaged or password-protected?)");
    return pdf.string();
}

} // namespace glmv::media
