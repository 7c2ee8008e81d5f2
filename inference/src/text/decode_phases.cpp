#include "text/decode_phases.h"

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace glmv::decode_phases {

namespace {
std::array<std::atomic<int64_t>, count> g_nanoseconds{};
std::atomic<int64_t>                    g_steps{0};
} // namespace

const char* name(Phase p) {
    static const char* const names[count] = {"norms",   "qkv",  "rope", "attention", "out_proj",
                                             "gate_up", "silu", "down", "head",      "sampling"};
    return p >= 0 && p < count ? names[p] : "?";
}

bool enabled() {
    static const bool on = [] {
        const char* env = std::getenv("GLMV_DECODE_PHASES");
        return env && std::strcmp(env, "1") == 0;
    }();
    return on;
}

void reset() {
    for (auto& ns : g_nanoseconds)
        ns.store(0, std::memory_order_relaxed);
    g_steps.store(0, std::memory_order_relaxed);
}

double seconds(Phase p) {
    return double(g_nanoseconds[size_t(p)].load(std::memory_order_relaxed)) * 1e-9;
}

int64_t steps() {
    return g_steps.load(std::memory_order_relaxed);
}

void add(Phase p, std::chrono::steady_clock::duration d) {
    g_nanoseconds[size_t(p)].fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(),
                                       std::memory_order_relaxed);
}

void count_step() {
    g_steps.fetch_add(1, std::memory_order_relaxed);
}

} // namespace glmv::decode_phases
