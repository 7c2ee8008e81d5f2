// This process's memory figures from /proc, for glmv-bench's report and its kernel benchmark.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

namespace glmv::bench {

// A "Key: N kB" line of a /proc file of this process, in bytes (0 when absent).
inline uint64_t proc_kb_line_bytes(const char* path, const char* key) {
    std::ifstream f(path);
    std::string   line;
    while (std::getline(f, line))
        if (line.rfind(key, 0) == 0) return std::stoull(line.substr(std::strlen(key) + 1)) * 1024;
    return 0;
}

// VmRSS / VmHWM / RssFile / RssAnon of this process, in bytes.
inline uint64_t proc_status_bytes(const char* key) {
    return proc_kb_line_bytes("/proc/self/status", key);
}

// A total of /proc/self/smaps_rollup (e.g. AnonHugePages), in bytes.
inline uint64_t proc_rollup_bytes(const char* key) {
    return proc_kb_line_bytes("/proc/self/smaps_rollup", key);
}

} // namespace glmv::bench
