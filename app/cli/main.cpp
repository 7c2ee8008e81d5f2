// glmv-cli entry point: dispatches to the registered sub-commands (see command.h).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "command.h"
#include "glmv/common/log.h"

namespace glmv::cli {

std::vector<std::string>& value_options();

std::map<std::string, Command>& registry() {
    static std::map<std::string, Command> r;
    return r;
}

int fail(const std::string& message) {
    std::fprintf(stderr, "error: %s\n", message.c_str());
    return 1;
}

Args::Args(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) == 0 && a.size() > 2) {
            std::string name = a.substr(2), value;
            auto        eq   = name.find('=');
            if (eq != std::string::npos) {
                value = name.substr(eq + 1);
                name  = name.substr(0, eq);
            } else if (i + 1 < argc) {
                // Only declared value options consume the next argument (see declare_value_options).
                bool takes_value = false;
                for (auto& v : value_options())
                    if (v == name) takes_value = true;
                if (takes_value) value = argv[++i];
            }
            options_.push_back({name, value});
        } else {
            positional_.push_back(a);
        }
    }
}

std::vector<std::string>& value_options() {
    static std::vector<std::string> v = {"model",
                                         "inputs",
                                         "out",
                                         "max-new-tokens",
                                         "image",
                                         "video",
                                         "pdf",
                                         "pages",
                                         "text-file",
                                         "messages",
                                         "weights",
                                         "seed",
                                         "temperature",
                                         "top-p",
                                         "top-k",
                                         "repetition-penalty",
                                         "threads",
                                         "config",
                                         "port",
                                         "host",
                                         "api-key",
                                         "allowed-local-media-path",
                                         "endpoint",
                                         "system",
                                         "thinking-budget",
                                         "backend",
                                         "dpi",
                                         "max-pages",
                                         "remote-model",
                                         "remote-url",
                                         "hub",
                                         "revision",
                                         "prompt-arithmetic"};
    return v;
}

bool read_prompt_arithmetic(const Args& args, PromptArithmetic* out) {
    const auto name = args.get("prompt-arithmetic");
    if (!name) return true;
    const auto a = prompt_arithmetic_named(*name);
    if (!a) {
        std::fprintf(stderr,
                     "error: --prompt-arithmetic takes auto (bf16 where the CPU multiplies bf16 natively), "
                     "exact (fp32) or bf16, not '%s'\n",
                     name->c_str());
        return false;
    }
    *out = *a;
    return true;
}

void Args::declare_value_options(const std::vector<std::string>& names) {
    for (auto& n : names) value_options().push_back(n);
}

bool Args::has(const std::string& name) const {
    for (auto& [n, v] : options_)
        if (n == name) return true;
    return false;
}

std::optional<std::string> Args::get(const std::string& name) const {
    std::optional<std::string> r;
    for (auto& [n, v] : options_)
        if (n == name) r = v;
    return r;
}

std::vector<std::string> Args::get_all(const std::string& name) const {
    std::vector<std::string> r;
    for (auto& [n, v] : options_)
        if (n == name) r.push_back(v);
    return r;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
    auto v = get(name);
    return v ? *v : fallback;
}

bool Args::get_int(const std::string& name, long long* out) const {
    auto v = get(name);
    if (!v) return true;
    char* end = nullptr;
    errno     = 0;
    long long x = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || errno != 0) {
        std::fprintf(stderr, "error: --%s expects an integer, got '%s'\n", name.c_str(), v->c_str());
        return false;
    }
    *out = x;
    return true;
}

bool Args::get_double(const std::string& name, double* out) const {
    auto v = get(name);
    if (!v) return true;
    char* end = nullptr;
    double x  = std::strtod(v->c_str(), &end);
    if (v->empty() || *end != '\0') {
        std::fprintf(stderr, "error: --%s expects a number, got '%s'\n", name.c_str(), v->c_str());
        return false;
    }
    *out = x;
    return true;
}

} // namespace glmv::cli

static void print_usage() {
    std::fprintf(stderr, "usage: glmv-cli <command> [options]\n\ncommands:\n");
    for (auto& [name, cmd] : glmv::cli::registry()) std::fprintf(stderr, "  %-11s %s\n", name.c_str(), cmd.usage.c_str());
    std::fprintf(stderr, "  --version   print the version\n");
}

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        print_usage();
        return argc < 2 ? 2 : 0;
    }
    if (!std::strcmp(argv[1], "--version")) {
        std::printf("glmv-cli " GLMV_VERSION "\n");
        return 0;
    }
    glmv::log_set([](glmv::LogLevel lvl, const char* msg) {
        if (lvl >= glmv::LogLevel::warn || std::getenv("GLMV_VERBOSE")) std::fprintf(stderr, "%s\n", msg);
    });
    auto it = glmv::cli::registry().find(argv[1]);
    if (it == glmv::cli::registry().end()) {
        std::fprintf(stderr, "error: unknown command '%s'\n", argv[1]);
        print_usage();
        return 2;
    }
    glmv::cli::Args args(argc, argv, 2);
    return it->second.fn(args);
}
