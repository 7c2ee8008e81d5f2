// Model folders that are wrong in one way each: the load fails with an error naming the problem, never crashes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "glmv/inference/engine.h"
#include "glmv/inference/safetensors.h"
#include "test_util.h"

using namespace glmv;
namespace fs = std::filesystem;

namespace {

// Copies the fixture model folder, rewriting model.safetensors through `edit` (name → keep/replace).
struct Edit {
    std::function<bool(const std::string& name)> drop = [](const std::string&) { return false; };
    std::string                                  reshape_name;
};

void copy_model(const std::string& dst, const Edit& e) {
    fs::create_directories(dst);
    for (auto& f : fs::directory_iterator(test::tiny_model_dir()))
        if (f.path().filename() != "model.safetensors") fs::copy_file(f.path(), fs::path(dst) / f.path().filename());
    auto              src = SafetensorsFile::open(test::tiny_model_dir() + "/model.safetensors");
    SafetensorsWriter w;
    for (const TensorView& t : src->tensors()) {
        if (e.drop(t.name)) continue;
        std::vector<int64_t> shape = t.shape;
        if (t.name == e.reshape_name) shape = {shape[0] / 2, shape[1] * 2};
        w.add(t.name, t.dtype, shape, t.data, t.nbytes);
    }
    ASSERT_TRUE(w.write(dst + "/model.safetensors").ok());
}

std::string load_error(const std::string& dir) {
    auto m = Model::load(dir);
    EXPECT_FALSE(m.ok());
    return m.ok() ? "" : m.status().message();
}

} // namespace

TEST(ModelLoad, FixtureLoadsAndReportsWeightBytes) {
    auto m = Model::load(test::tiny_model_dir());
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    EXPECT_EQ(m.value()->weight_bytes() > 2000000, true);
}

TEST(ModelLoad, MissingTensorIsNamed) {
    test::TempDir d;
    copy_model(d.file("m"), Edit{[](const std::string& n) { return n == "model.language_model.layers.1.mlp.down_proj.weight"; }, ""});
    std::string msg = load_error(d.file("m"));
    EXPECT_NE(msg.find("model.language_model.layers.1.mlp.down_proj.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
}

TEST(ModelLoad, MisshapedTensorIsNamedWithBothShapes) {
    test::TempDir d;
    Edit          e;
    e.reshape_name = "model.visual.blocks.0.attn.qkv.weight";
    copy_model(d.file("m"), e);
    std::string msg = load_error(d.file("m"));
    EXPECT_NE(msg.find("model.visual.blocks.0.attn.qkv.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[96,128]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[192,64]"), std::string::npos) << msg;
}

TEST(ModelLoad, TruncatedWeightsFileFailsWithoutSigbus) {
    test::TempDir d;
    copy_model(d.file("m"), Edit{});
    const std::string p    = d.file("m/model.safetensors");
    const auto        size = fs::file_size(p);
    for (uint64_t cut : {uint64_t(0), uint64_t(7), uint64_t(8), uint64_t(100), size / 2, size - 1}) {
        fs::resize_file(p, cut);
        std::string msg = load_error(d.file("m"));
        EXPECT_FALSE(msg.empty()) << cut;
        EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
        copy_model(d.file("m2"), Edit{});
        fs::copy_file(d.file("m2/model.safetensors"), p, fs::copy_options::overwrite_existing);
        fs::remove_all(d.file("m2"));
    }
}

TEST(ModelLoad, WrongFolderSaysWhatIsMissing) {
    test::TempDir d;
    std::string   msg = load_error(d.path());
    EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
    msg = load_error(d.file("does-not-exist"));
    EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
    fs::copy_file(test::tiny_model_dir() + "/config.json", d.file("config.json"));
    msg = load_error(d.path());
    EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
}

TEST(ModelLoad, ShardedCheckpointLoadsAndBadIndexesAreRejected) {
    test::TempDir d;
    const std::string dir = d.file("m");
    copy_model(dir, Edit{});
    fs::remove(dir + "/model.safetensors");
    // Split the fixture into two shards by name.
    auto              src = SafetensorsFile::open(test::tiny_model_dir() + "/model.safetensors");
    SafetensorsWriter a, b;
    nlohmann::json    map;
    for (const TensorView& t : src->tensors()) {
        bool vis = t.name.find("visual") != std::string::npos;
        (vis ? a : b).add(t.name, t.dtype, t.shape, t.data, t.nbytes);
        map[t.name] = vis ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    }
    ASSERT_TRUE(a.write(dir + "/model-00001-of-00002.safetensors").ok());
    ASSERT_TRUE(b.write(dir + "/model-00002-of-00002.safetensors").ok());
    auto write_index = [&](const nlohmann::json& m) {
        std::ofstream(dir + "/model.safetensors.index.json") << nlohmann::json{{"metadata", {}}, {"weight_map", m}}.dump();
    };
    write_index(map);
    auto ok = Model::load(dir);
    ASSERT_TRUE(ok.ok()) << ok.status().to_string();

    auto bad = map;
    bad["lm_head.weight"] = "../model-00002-of-00002.safetensors";
    write_index(bad);
    EXPECT_NE(load_error(dir).find("not a plain file name"), std::string::npos);

    bad                   = map;
    bad["lm_head.weight"] = "model-00001-of-00002.safetensors"; // the shard disagrees with the index
    write_index(bad);
    EXPECT_NE(load_error(dir).find("lm_head.weight"), std::string::npos);

    bad                       = map;
    bad["model.extra.weight"] = "model-00001-of-00002.safetensors";
    write_index(bad);
    EXPECT_NE(load_error(dir).find("model.extra.weight"), std::string::npos);

    std::ofstream(dir + "/model.safetensors.index.json") << "{ not json";
    EXPECT_NE(load_error(dir).find("JSON"), std::string::npos);
}

TEST(ModelLoad, OutOfRangeTokenIdIsAnErrorNotACrash) {
    auto m = Model::load(test::tiny_model_dir());
    ASSERT_TRUE(m.ok());
    Session     s(m.value());
    ModelInputs in;
    in.input_ids = {5, 6, 2048};
    std::vector<float> logits;
    Status             st = s.forward_all(in, &logits);
    EXPECT_EQ(st.code(), ErrorCode::out_of_range);
    in.input_ids = {5, -1};
    EXPECT_FALSE(s.forward_all(in, &logits).ok());
    in.input_ids = {1835, 1839, 1839, 1836}; // image tokens without pixel values
    EXPECT_FALSE(s.forward_all(in, &logits).ok());
    in.input_ids = {};
    EXPECT_FALSE(s.forward_all(in, &logits).ok());
}
