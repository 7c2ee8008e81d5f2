// Fuzzes tokenizer.json loading. The input is split at the first NUL into tokenizer.json and tokenizer_config.json;
// an accepted tokenizer must encode and decode a fixed text without crashing and give ids inside its vocabulary.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "glmv/inference/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > (256u << 10)) return 0;
    std::string all(reinterpret_cast<const char*>(data), size);
    auto        nul = all.find('\0');
    std::string tj = all.substr(0, nul), cj = nul == std::string::npos ? std::string() : all.substr(nul + 1);
    auto        t  = glmv::Tokenizer::from_json(tj, cj, "fuzz");
    if (!t.ok()) return 0;
    auto ids = t.value()->encode("Hello, 世界! <|user|> 123 \n\t x");
    for (int32_t id : ids)
        if (id < 0 || id >= t.value()->vocab_size()) std::abort();
    (void)t.value()->decode(ids, true);
    return 0;
}
