// glmv-cli tokenize / prompt against transformers: real image files and the real video.mkv go through media
// decoding, preprocessing and the prompt builder; ids and token types must equal the reference exactly.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_util.h"
#include "glmv/inference/safetensors.h"
#include "test_util.h"

using namespace glmv;
using json = nlohmann::json;

namespace {

json read_json(const std::string& p) {
    std::ifstream f(p);
    return json::parse(f);
}

std::string join(const std::vector<int64_t>& v) {
    std::ostringstream s;
    for (size_t i = 0; i < v.size(); ++i) s << (i ? " " : "") << v[i];
    return s.str();
}

} // namespace

TEST(CliPrompt, EveryReferenceChatFromRealFiles) {
    json ref = read_json(test::fixtures_dir() + "/glm4v-text/reference.json");
    for (auto& [name, entry] : ref["chat"].items()) {
        test::TempDir dir;
        json          msgs = entry["messages"];
        for (json& m : msgs) {
            if (!m["content"].is_array()) continue;
            for (json& p : m["content"]) {
                if (p["type"] == "image") p["image"] = test::tiny_dir() + "/images/" + p["image"].get<std::string>();
                if (p["type"] == "video") p["video"] = test::tiny_dir() + "/images/video.mkv"; // = video_frames.npy
            }
        }
        std::ofstream(dir.file("m.json")) << msgs.dump();
        auto r = test::run_command(std::string(GLMV_CLI) + " prompt --model " + test::quote(test::assets_dir()) +
                                   " --messages " + test::quote(dir.file("m.json")) + " --out " +
                                   test::quote(dir.file("in.safetensors")) + " 2>/dev/null");
        ASSERT_EQ(r.exit_code, 0) << name << r.output;
        EXPECT_EQ(r.last_line(), join(entry["input_ids"].get<std::vector<int64_t>>())) << name;
        auto in = SafetensorsFile::open(dir.file("in.safetensors"));
        ASSERT_TRUE(in.ok()) << in.status().to_string();
        EXPECT_EQ(tensor_to_i64(*in->find("mm_token_type_ids")), entry["mm_token_type_ids"].get<std::vector<int64_t>>())
            << name;
        for (const char* g : {"image_grid_thw", "video_grid_thw"}) {
            if (!entry.contains(g)) continue;
            std::vector<int64_t> want;
            for (auto& row : entry[g]) for (auto& v : row) want.push_back(v.get<int64_t>());
            ASSERT_NE(in->find(g), nullptr) << name << " " << g;
            EXPECT_EQ(tensor_to_i64(*in->find(g)), want) << name << " " << g;
        }
    }
}

TEST(CliPrompt, TokenizePrintsReferenceIds) {
    json ref = read_json(test::fixtures_dir() + "/glm4v-text/reference.json");
    int  n   = 0;
    for (const json& e : ref["encode"]) {
        if (n++ > 4) break;
        test::TempDir dir;
        std::ofstream(dir.file("t.txt"), std::ios::binary) << e["text"].get<std::string>();
        auto r = test::run_command(std::string(GLMV_CLI) + " tokenize --model " + test::quote(test::assets_dir()) +
                                   " --text-file " + test::quote(dir.file("t.txt")));
        ASSERT_EQ(r.exit_code, 0);
        EXPECT_EQ(r.last_line(), join(e["ids"].get<std::vector<int64_t>>()));
    }
}

TEST(CliPrompt, BadMessagesAndMissingMediaGiveClearErrors) {
    test::TempDir dir;
    std::ofstream(dir.file("bad.json")) << "{ nope";
    auto r = test::run_command(std::string(GLMV_CLI) + " prompt --model " + test::quote(test::assets_dir()) +
                               " --messages " + test::quote(dir.file("bad.json")) + " 2>&1");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("not valid JSON"), std::string::npos) << r.output;
    std::ofstream(dir.file("m.json")) << R"([{"role":"user","content":[{"type":"image","image":"missing.png"}]}])";
    r = test::run_command(std::string(GLMV_CLI) + " prompt --model " + test::quote(test::assets_dir()) + " --messages " +
                          test::quote(dir.file("m.json")) + " 2>&1");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("missing.png"), std::string::npos) << r.output;
}
