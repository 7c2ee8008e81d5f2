// Fuzzes encoding with the real GLM-4.1V tokenizer: for valid UTF-8 input, decode(encode(s)) == s and every id is in
// the vocabulary.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "glmv/inference/tokenizer.h"

static bool valid_utf8(const std::string& s) {
    std::string copy = s, out;
    glmv::utf8_take_complete(copy, &out, true);
    return out == s;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static auto tok = glmv::Tokenizer::load(GLMV_ASSETS).value();
    if (size > (64u << 10)) return 0;
    std::string text(reinterpret_cast<const char*>(data), size);
    auto        ids = tok->encode(text);
    for (int32_t id : ids)
        if (id < 0 || id >= tok->vocab_size()) std::abort();
    if (valid_utf8(text) && tok->decode(ids) != text) std::abort();
    return 0;
}
