// Fuzzes the thinking/answer stream parser: feeding the same text in random chunks gives the same segments as feeding
// it whole, and the output is the input minus the tags.
#include <cstdint>
#include <cstdlib>
#include <algorithm>
#include <string>

#include "glmv/inference/stream_parser.h"

static std::string run(const std::string& text, const uint8_t* cuts, size_t n_cuts, std::string* thinking) {
    glmv::ThinkAnswerParser p;
    std::string             answer;
    auto                    take = [&](const std::vector<glmv::StreamSegment>& segs) {
        for (const auto& s : segs) (s.channel == glmv::StreamChannel::thinking ? *thinking : answer) += s.text;
    };
    size_t pos = 0;
    for (size_t i = 0; i < n_cuts && pos < text.size(); ++i) {
        size_t len = std::min<size_t>(cuts[i] % 8, text.size() - pos);
        take(p.push(text.substr(pos, len)));
        pos += len;
    }
    take(p.push(text.substr(pos)));
    take(p.finish());
    return answer;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    const size_t n_cuts = data[0] % 64;
    if (size < 1 + n_cuts) return 0;
    std::string text(reinterpret_cast<const char*>(data + 1 + n_cuts), size - 1 - n_cuts);
    std::string t1, t2;
    std::string a1 = run(text, nullptr, 0, &t1);
    std::string a2 = run(text, data + 1, n_cuts, &t2);
    if (a1 != a2 || t1 != t2) std::abort();
    if (a1.size() + t1.size() > text.size()) std::abort();
    return 0;
}
