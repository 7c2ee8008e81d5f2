#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace glmv::cli {

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    int         u       = 0;
    while (bytes >= 1000 && u < 4)
        bytes /= 1000, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
    return buf;
}

ProgressBar::ProgressBar()
    : tty_(isatty(STDERR_FILENO)), last_(std::chrono::steady_clock::now() - std::chrono::seconds(10)) {}

void ProgressBar::update(uint64_t done, uint64_t total, double bytes_per_s, double eta_s, const std::string& item,
                         bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(tty_ ? 200 : 2000)) return;
    last_             = now;
    drawn_            = true;
    const double frac = total ? double(done) / double(total) : 1.0;
    const int    bar  = int(frac * 30);
    std::fprintf(stderr, "%s[%-30s] %3.0f%% %s / %s  %s/s  ETA %.0f s  %s%s", tty_ ? "\r" : "",
                 std::string(size_t(bar), '#').c_str(), 100 * frac, human_bytes(double(done)).c_str(),
                 human_bytes(double(total)).c_str(), human_bytes(bytes_per_s).c_str(), eta_s, item.c_str(),
                 tty_ ? "   " : "\n");
}

void ProgressBar::finish() {
    if (tty_ && drawn_) std::fprintf(stderr, "\n");
}

} // namespace glmv::cli
