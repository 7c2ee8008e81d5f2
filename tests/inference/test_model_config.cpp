// config.json in both schemas, and one malformed config per failure mode (reliability.md §10.3).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "glmv/inference/model_config.h"
#include "test_util.h"

using namespace glmv;

namespace {
std::string read_file(const std::string& p) {
    std::ifstream     f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}
} // namespace

TEST(ModelConfig, RealFlatSchemaResolvesTheArchitecture) {
    auto c = load_model_config(test::assets_dir() + "/config.json");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->text.n_layer, 40);
    EXPECT_EQ(c->vision.depth, 24);
    EXPECT_EQ(c->text.head_dim, 128);
    EXPECT_EQ(c->text.rotary_dim, 64);
    EXPECT_EQ(c->text.mrope_section, (std::array<int, 3>{8, 12, 12}));
    EXPECT_EQ(c->text.n_head_kv, 2);
    EXPECT_TRUE(c->text.attention_bias);
    EXPECT_EQ(c->text.vocab_size, 151552);
    EXPECT_EQ(c->text.eos_token_ids, (std::vector<int64_t>{151329, 151336, 151338, 151348}));
    EXPECT_EQ(c->image_token_id, 151343);
    EXPECT_EQ(c->vision.out_hidden_size, 4096);
    EXPECT_EQ(c->vision.head_dim, 128);
    EXPECT_EQ(c->vision.patch_dim(), 1176);
    EXPECT_EQ(c->vision.pos_grid(), 24);
}

TEST(ModelConfig, NestedSchemaOfTheFixture) {
    auto c = load_model_config(test::tiny_model_dir() + "/config.json");
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_EQ(c->text.n_layer, 2);
    EXPECT_EQ(c->text.head_dim, 32);
    EXPECT_EQ(c->text.rotary_dim, 16);
    EXPECT_EQ(c->text.mrope_section, (std::array<int, 3>{2, 3, 3}));
    EXPECT_EQ(c->vision.intermediate, 96);
    EXPECT_EQ(c->text.eos_token_ids, (std::vector<int64_t>{1825, 1832, 1834}));
}

TEST(ModelConfig, MalformedConfigsAreRejectedWithTheFieldNamed) {
    using json = nlohmann::json;
    json base  = json::parse(read_file(test::tiny_model_dir() + "/config.json"));
    struct Case {
        const char*                     what;
        std::function<void(json&)>      mutate;
        const char*                     expect_in_message;
    };
    std::vector<Case> cases = {
        {"missing key", [](json& j) { j["text_config"].erase("hidden_size"); }, "hidden_size"},
        {"zero heads", [](json& j) { j["text_config"]["num_attention_heads"] = 0; }, "num_attention_heads"},
        {"hidden not divisible", [](json& j) { j["text_config"]["num_attention_heads"] = 3; }, "divisible"},
        {"100000 layers", [](json& j) { j["text_config"]["num_hidden_layers"] = 100000; }, "num_hidden_layers"},
        {"negative size", [](json& j) { j["text_config"]["intermediate_size"] = -5; }, "intermediate_size"},
        {"bad mrope sum", [](json& j) { j["text_config"]["rope_parameters"]["mrope_section"] = {2, 3, 4}; }, "mrope_section"},
        {"string instead of int", [](json& j) { j["text_config"]["vocab_size"] = "2048"; }, "vocab_size"},
        {"no vision config", [](json& j) { j.erase("vision_config"); }, "vision_config"},
        {"image token out of vocab", [](json& j) { j["image_token_id"] = 5000; }, "image_token_id"},
        {"other model type", [](json& j) { j["model_type"] = "llama"; }, "llama"},
    };
    for (const Case& c : cases) {
        json j = base;
        c.mutate(j);
        auto r = parse_model_config(j.dump(), "config.json");
        EXPECT_FALSE(r.ok()) << c.what;
        if (!r.ok()) {
            EXPECT_NE(r.status().message().find(c.expect_in_message), std::string::npos) << r.status().message();
        }
    }
    EXPECT_FALSE(parse_model_config("{not json", "config.json").ok());
    EXPECT_FALSE(parse_model_config("[1,2]", "config.json").ok());
    EXPECT_FALSE(parse_model_config("", "config.json").ok());
}
