// The real GLM-4.1V tokenizer against transformers' encodings (fixtures/glm4v-text/reference.json) and malformed
// tokenizer.json files.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "glmv/inference/tokenizer.h"
#include "test_util.h"

using namespace glmv;
using json = nlohmann::json;

namespace {

std::shared_ptr<const Tokenizer> real_tokenizer() {
    static std::shared_ptr<const Tokenizer> t = [] {
        auto r = Tokenizer::load(test::assets_dir());
        EXPECT_TRUE(r.ok()) << r.status().to_string();
        return r.ok() ? r.value() : nullptr;
    }();
    return t;
}

json text_reference() {
    std::ifstream f(test::fixtures_dir() + "/glm4v-text/reference.json");
    return json::parse(f);
}

} // namespace

TEST(Tokenizer, LoadsTheRealTokenizerQuickly) {
    auto t0 = std::chrono::steady_clock::now();
    auto t  = Tokenizer::load(test::assets_dir());
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    std::printf("tokenizer.json loaded in %.0f ms\n", ms);
    EXPECT_EQ(t.value()->token_id("<|image|>"), 151343);
    EXPECT_EQ(t.value()->token_id("<think>"), 151345);
    EXPECT_EQ(t.value()->token_id("<|sep|>"), 151351);
    EXPECT_EQ(t.value()->vocab_size(), 151352);
}

TEST(Tokenizer, EveryReferenceEncodingAndDecoding) {
    auto tok = real_tokenizer();
    ASSERT_TRUE(tok);
    json ref = text_reference();
    for (const json& e : ref["encode"]) {
        std::string          text = e["text"];
        std::vector<int32_t> want = e["ids"].get<std::vector<int32_t>>();
        EXPECT_EQ(tok->encode(text), want) << text;
        EXPECT_EQ(tok->decode(want, false), e["decoded"].get<std::string>()) << text;
        EXPECT_EQ(tok->decode(want, true), e["decoded_skip_special"].get<std::string>()) << text;
    }
    for (auto& [name, id] : ref["special_tokens"].items()) EXPECT_EQ(tok->token_id(name), id.get<int32_t>()) << name;
}

TEST(Tokenizer, MalformedTokenizerJsonIsRejected) {
    const std::string good = R"({"added_tokens":[],"normalizer":null,"pre_tokenizer":null,"model":{"type":"BPE","vocab":VOCAB,"merges":MERGES}})";
    auto vocab = [] {
        json v = json::object();
        for (int b = 0; b < 256; ++b) {
            // byte-level chars of every byte
            uint32_t cp = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174) ? uint32_t(b) : 0;
            (void)cp;
        }
        return v;
    };
    (void)vocab;
    struct Case {
        const char* what;
        std::string tokenizer;
        std::string config;
    };
    std::vector<Case> cases = {
        {"not json", "{", ""},
        {"no model", R"({"added_tokens":[]})", ""},
        {"not BPE", R"({"model":{"type":"WordPiece","vocab":{}}})", ""},
        {"duplicate id", R"({"model":{"type":"BPE","vocab":{"a":0,"b":0},"merges":[]}})", ""},
        {"negative id", R"({"model":{"type":"BPE","vocab":{"a":-1},"merges":[]}})", ""},
        {"missing byte tokens", R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[]}})", ""},
        {"truncated vocab", R"({"model":{"type":"BPE","vocab":{"a":0,"b)", ""},
    };
    for (const Case& c : cases) {
        auto r = Tokenizer::from_json(c.tokenizer, c.config, "t.json");
        EXPECT_FALSE(r.ok()) << c.what;
    }
    // Real file, edited: a merge naming an unknown token, an added token id used twice, bad config JSON.
    std::ifstream     f(test::assets_dir() + "/tokenizer.json");
    std::stringstream ss;
    ss << f.rdbuf();
    std::string real = ss.str();
    std::string bad_merge = real;
    auto        p         = bad_merge.find("\"merges\"");
    ASSERT_NE(p, std::string::npos);
    p = bad_merge.find('[', p);
    bad_merge.insert(p + 1, "[\"zzz_unknown\",\"qqq\"],");
    auto r = Tokenizer::from_json(bad_merge, "", "t.json");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("zzz_unknown"), std::string::npos) << r.status().message();
    r = Tokenizer::from_json(real, R"({"added_tokens_decoder":{"151343":{"content":"<|endoftext|>"}}})", "t.json");
    EXPECT_FALSE(r.ok());
    r = Tokenizer::from_json(real, "{not json", "t.json");
    EXPECT_FALSE(r.ok());
}
