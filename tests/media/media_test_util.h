// Helpers for the media tests: reference tensors, error statistics, and running the ffmpeg tool.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace glmv::test {

struct ErrorStats {
    double max_abs  = 0;
    double mean_abs = 0;
};

inline ErrorStats compare(const std::vector<float>& got, const std::vector<float>& want) {
    ErrorStats s;
    if (got.size() != want.size() || got.empty()) return {1e9, 1e9};
    double sum = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        double d  = std::fabs(double(got[i]) - double(want[i]));
        s.max_abs = std::max(s.max_abs, d);
        sum += d;
    }
    s.mean_abs = sum / double(got.size());
    return s;
}

// Runs a shell command quietly; true on exit status 0.
inline bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

inline bool have_tool(const std::string& name) { return sh("command -v " + name); }

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

} // namespace glmv::test
