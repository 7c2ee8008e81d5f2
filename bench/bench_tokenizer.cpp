// Tokenizer speed: loading the real 20 MB tokenizer.json (target ≤ 300 ms) and encoding 10 MB of mixed
// Chinese/English/code text on one thread (target ≥ 20 MB/s). One JSON line per result.
//   bench_tokenizer [MODEL_DIR]   (default ../shared/glm4v-assets)
#include <chrono>
#include <cstdio>
#include <string>

#include "glmv/inference/tokenizer.h"

using Clock = std::chrono::steady_clock;

static std::string mixed_text(size_t bytes) {
    const char* parts[] = {
        "The quick brown fox jumps over the lazy dog. GLM-4.1V reads images, videos and documents. ",
        "今天天气很好，我们一起去公园散步吧。视觉语言模型可以理解图片和视频中的内容。",
        "for (int i = 0; i < n; ++i) { sum += values[i] * weights[i]; }\n",
        "def forward(self, x):\n    return self.proj(torch.relu(x)) + 3.14159\n",
        "Numbers 12345 and 67890, emails a.b@example.com, URLs https://example.org/path?q=1 — 😀 ",
    };
    std::string out;
    uint64_t    s = 1;
    while (out.size() < bytes) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        out += parts[(s >> 33) % 5];
    }
    return out;
}

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : "../shared/glm4v-assets";
    double            best_load = 1e9;
    std::shared_ptr<const glmv::Tokenizer> tok;
    for (int rep = 0; rep < 3; ++rep) {
        auto t0 = Clock::now();
        auto t  = glmv::Tokenizer::load(dir);
        best_load = std::min(best_load, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!t) {
            std::fprintf(stderr, "error: %s\n", t.status().message().c_str());
            return 1;
        }
        tok = t.value();
    }
    std::printf("{\"bench\":\"tokenizer_load\",\"ms\":%.1f,\"target_ms\":300}\n", best_load);
    const std::string text = mixed_text(10u << 20);
    // Cold: the BPE cache starts empty, as for a fresh document.
    auto   t0  = Clock::now();
    auto   ids = tok->encode(text);
    double s   = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("{\"bench\":\"tokenizer_encode_10MB\",\"mb_per_s\":%.1f,\"tokens\":%zu,\"target_mb_per_s\":20}\n",
                double(text.size()) / 1e6 / s, ids.size());
    return 0;
}
