// Chat prompts against transformers' rendering + processor expansion (fixtures/glm4v-text/reference.json → chat).
// Grids come from the fixture entries and the video timestamps from the tiny fixture's sampled frames; the
// end-to-end path from real image/video files is tested with glmv-cli prompt.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "glmv/inference/chat_prompt.h"
#include "test_util.h"

using namespace glmv;
using json = nlohmann::json;

namespace {

struct Env {
    std::shared_ptr<const Tokenizer> tok;
    ModelConfig                      cfg;
};

Env& env() {
    static Env e = [] {
        Env x;
        x.tok = Tokenizer::load(test::assets_dir()).value();
        x.cfg = load_model_config(test::assets_dir() + "/config.json").value();
        return x;
    }();
    return e;
}

json read_json(const std::string& p) {
    std::ifstream f(p);
    return json::parse(f);
}

std::vector<ChatMessage> to_messages(const json& entry) {
    json              tiny      = read_json(test::tiny_dir() + "/reference.json");
    std::vector<double> stamps  = tiny["video"]["sampled_timestamps"].get<std::vector<double>>();
    std::vector<ChatMessage> out;
    size_t                   image_i = 0;
    for (const json& m : entry["messages"]) {
        ChatMessage msg;
        msg.role = m["role"];
        if (m["content"].is_string()) msg.parts.push_back(ChatPart::text_part(m["content"]));
        else
            for (const json& p : m["content"]) {
                std::string type = p["type"];
                if (type == "text") msg.parts.push_back(ChatPart::text_part(p["text"]));
                else if (type == "image") {
                    auto g = entry["image_grid_thw"][image_i++];
                    msg.parts.push_back(ChatPart::image({g[0], g[1], g[2]}));
                } else if (type == "video") {
                    auto g = entry["video_grid_thw"][0];
                    msg.parts.push_back(ChatPart::video({g[0], g[1], g[2]}, stamps));
                }
            }
        out.push_back(msg);
    }
    return out;
}

} // namespace

TEST(ChatPrompt, EveryReferenceChatGivesIdenticalIdsAndTokenTypes) {
    json ref = read_json(test::fixtures_dir() + "/glm4v-text/reference.json");
    ASSERT_GE(ref["chat"].size(), 5u);
    for (auto& [name, entry] : ref["chat"].items()) {
        ChatPromptOptions opt;
        opt.strip_assistant_thinking = false; // the reference renders history verbatim
        auto p = build_chat_prompt(*env().tok, env().cfg, to_messages(entry), opt);
        ASSERT_TRUE(p.ok()) << name << ": " << p.status().to_string();
        EXPECT_EQ(p->input_ids, entry["input_ids"].get<std::vector<int64_t>>()) << name;
        EXPECT_EQ(p->mm_token_type_ids, entry["mm_token_type_ids"].get<std::vector<int64_t>>()) << name;
        EXPECT_EQ(p->text, entry["rendered"].get<std::string>()) << name;
    }
}

TEST(ChatPrompt, HistoryKeepsOnlyThePlainAnswer) {
    EXPECT_EQ(strip_thinking("<think>I compute 2+2.</think><answer>It is <|begin_of_box|>4<|end_of_box|>.</answer>"),
              "It is 4.");
    EXPECT_EQ(strip_thinking("<think>unfinished"), "");
    EXPECT_EQ(strip_thinking("plain"), "plain");
    std::vector<ChatMessage> msgs = {{"user", {ChatPart::text_part("Hi")}, ""},
                                     {"assistant", {ChatPart::text_part("<think>hmm</think><answer>Hello!</answer>")}, ""},
                                     {"user", {ChatPart::text_part("Again")}, ""}};
    auto p = build_chat_prompt(*env().tok, env().cfg, msgs, {});
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->text, "[gMASK]<sop><|user|>\nHi<|assistant|>\nHello!<|user|>\nAgain<|assistant|>\n");
}

TEST(ChatPrompt, RejectsUnknownRolesAndBadGrids) {
    EXPECT_FALSE(build_chat_prompt(*env().tok, env().cfg, {{"robot", {ChatPart::text_part("x")}, ""}}, {}).ok());
    EXPECT_FALSE(build_chat_prompt(*env().tok, env().cfg, {{"user", {ChatPart::image({1, 3, 4})}, ""}}, {}).ok());
    EXPECT_FALSE(build_chat_prompt(*env().tok, env().cfg, {{"user", {ChatPart::video({3, 4, 4}, {0.0})}, ""}}, {}).ok());
}
