// Runs glmv-cli (the real executable) and captures its output, for command-line contract tests.
#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace glmv::test {

struct CommandResult {
    int         exit_code = -1;
    std::string output; // stdout only
    std::string last_line() const {
        std::string s = output;
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
        auto p = s.rfind('\n');
        return p == std::string::npos ? s : s.substr(p + 1);
    }
};

inline CommandResult run_command(const std::string& cmd) {
    CommandResult r;
    FILE*         p = popen(cmd.c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf{};
    size_t                 n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
    int st      = pclose(p);
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

inline std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

} // namespace glmv::test
