// Quantised folders written by quantize_model (glmv-cli quantize): the same logits as quantising at load, bit for
// bit; unquantised tensors and the other files copied unchanged; and one enumerated malformation per way a
// quantised file can be wrong, each refused with an error that names it (style.md §11).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "glmv/inference/engine.h"
#include "glmv/inference/quantize.h"
#include "glmv/inference/safetensors.h"
#include "test_util.h"

using namespace glmv;
namespace fs = std::filesystem;

namespace {

ModelInputs image_chat() {
    auto        ref = SafetensorsFile::open(test::tiny_dir() + "/reference.safetensors");
    ModelInputs in;
    in.input_ids      = tensor_to_i64(*ref->find("image_chat.input_ids"));
    in.pixel_values   = tensor_to_f32(*ref->find("image_chat.pixel_values"));
    auto g            = tensor_to_i64(*ref->find("image_chat.image_grid_thw"));
    in.image_grid_thw = {{g[0], g[1], g[2]}, {g[3], g[4], g[5]}};
    return in;
}

std::vector<float> logits_of(const std::string& dir, WeightFormat w) {
    LoadParams lp;
    lp.weights = w;
    auto m     = Model::load(dir, lp);
    EXPECT_TRUE(m.ok()) << m.status().to_string();
    if (!m.ok()) return {};
    Session            s(m.value());
    std::vector<float> logits;
    EXPECT_TRUE(s.forward_all(image_chat(), &logits).ok());
    return logits;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && !a.empty() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::string read_all(const fs::path& p) {
    std::ifstream     f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

Result<QuantizeResult> quantize(const std::string& src, const std::string& out, WeightFormat w, bool force = false) {
    QuantizeParams qp;
    qp.weights = w;
    qp.force   = force;
    return quantize_model(src, out, qp);
}

// A copy of the fixture folder with the weights split into two shards and an index, optionally with tied
// embeddings (config edited; lm_head.weight dropped, as a tied export has none).
void write_sharded_copy(const std::string& dst, bool tie) {
    fs::create_directories(dst);
    for (auto& f : fs::directory_iterator(test::tiny_model_dir()))
        if (f.path().filename() != "model.safetensors") fs::copy_file(f.path(), fs::path(dst) / f.path().filename());
    if (tie) {
        nlohmann::json cfg         = nlohmann::json::parse(read_all(fs::path(dst) / "config.json"));
        cfg["tie_word_embeddings"] = true;
        std::ofstream(fs::path(dst) / "config.json") << cfg.dump(2);
    }
    auto              src = SafetensorsFile::open(test::tiny_model_dir() + "/model.safetensors");
    SafetensorsWriter a, b;
    nlohmann::json    map;
    for (const TensorView& t : src->tensors()) {
        if (tie && t.name == "lm_head.weight") continue;
        const bool vis = t.name.find("visual") != std::string::npos;
        (vis ? a : b).add(t.name, t.dtype, t.shape, t.data, t.nbytes);
        map[t.name] = vis ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    }
    ASSERT_TRUE(a.write(dst + "/model-00001-of-00002.safetensors").ok());
    ASSERT_TRUE(b.write(dst + "/model-00002-of-00002.safetensors").ok());
    std::ofstream(dst + "/model.safetensors.index.json")
        << nlohmann::json{{"metadata", {}}, {"weight_map", map}}.dump();
}

} // namespace

TEST(QuantizedFolder, LogitsAreBitIdenticalToQuantisingAtLoad) {
    test::TempDir d;
    for (WeightFormat w : {WeightFormat::q8, WeightFormat::q4}) {
        const std::string out = d.file(w == WeightFormat::q8 ? "q8" : "q4");
        auto              r   = quantize(test::tiny_model_dir(), out, w);
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        EXPECT_EQ(r->out_dir, fs::weakly_canonical(out).string());

        const std::vector<float> at_load = logits_of(test::tiny_model_dir(), w);
        EXPECT_TRUE(same_bits(logits_of(out, WeightFormat::bf16), at_load)); // bf16 = "as stored"
        EXPECT_TRUE(same_bits(logits_of(out, w), at_load));                  // its own format: the same

        auto loaded = Model::load(out);
        ASSERT_TRUE(loaded.ok());
        LoadParams lp;
        lp.weights = w;
        EXPECT_EQ(loaded.value()->weight_format(), w);
        EXPECT_EQ(loaded.value()->weight_bytes(), Model::load(test::tiny_model_dir(), lp).value()->weight_bytes());
    }
}

TEST(QuantizedFolder, EverythingElseIsCopiedUnchanged) {
    test::TempDir d;
    ASSERT_TRUE(quantize(test::tiny_model_dir(), d.file("q4"), WeightFormat::q4).ok());
    for (auto& f : fs::directory_iterator(test::tiny_model_dir())) {
        if (f.path().extension() == ".safetensors") continue;
        EXPECT_EQ(read_all(f.path()), read_all(fs::path(d.file("q4")) / f.path().filename())) << f.path();
    }
    auto src = SafetensorsFile::open(test::tiny_model_dir() + "/model.safetensors");
    auto out = SafetensorsFile::open(d.file("q4/model.safetensors"));
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    EXPECT_EQ(out->metadata().at("glmv_quant"), "q4");
    EXPECT_EQ(out->metadata().at("glmv_quant_version"), std::to_string(kQuantizedFormatVersion));
    int quantised = 0;
    for (const TensorView& t : src->tensors()) {
        if (const TensorView* c = out->find(t.name)) {
            EXPECT_EQ(c->dtype, t.dtype) << t.name;
            EXPECT_EQ(c->shape, t.shape) << t.name;
            EXPECT_EQ(std::memcmp(c->data, t.data, t.nbytes), 0) << t.name;
            const bool decoder_matrix =
                t.name.find("language_model.layers") != std::string::npos && t.name.ends_with("proj.weight");
            EXPECT_FALSE(decoder_matrix) << t.name << " should have been quantised";
        } else {
            const TensorView* q = out->find(t.name + ".q4");
            const TensorView* s = out->find(t.name + ".q4_scale");
            ASSERT_TRUE(q && s) << t.name << " is neither copied nor quantised";
            EXPECT_EQ(q->shape, (std::vector<int64_t>{t.shape[0], t.shape[1] / 2}));
            EXPECT_EQ(reinterpret_cast<uintptr_t>(s->data) % 4, 0u);
            ++quantised;
        }
    }
    EXPECT_EQ(quantised, 2 * 6 + 1); // six matrices per decoder layer and the LM head
    // The data region starts on a cache line (the mapping starts on a page).
    const std::string head = read_all(d.file("q4/model.safetensors")).substr(0, 8);
    uint64_t          n    = 0;
    for (int i = 7; i >= 0; --i)
        n = n << 8 | uint8_t(head[size_t(i)]);
    EXPECT_EQ((8 + n) % 64, 0u);
}

TEST(QuantizedFolder, ShardedAndTiedFoldersMatchQuantisingAtLoadToo) {
    test::TempDir d;
    for (bool tie : {false, true}) {
        const std::string src = d.file(tie ? "tied" : "sharded");
        write_sharded_copy(src, tie);
        const std::string out = src + "-q8";
        auto              r   = quantize(src, out, WeightFormat::q8);
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        EXPECT_TRUE(fs::exists(out + "/model.safetensors.index.json"));
        EXPECT_TRUE(fs::exists(out + "/model-00002-of-00002.safetensors"));
        EXPECT_TRUE(same_bits(logits_of(out, WeightFormat::bf16), logits_of(src, WeightFormat::q8))) << tie;
        if (tie) {
            // The tied LM head is stored quantised beside the embedding table, which stays as it was.
            auto shard = SafetensorsFile::open(out + "/model-00002-of-00002.safetensors");
            EXPECT_TRUE(shard->find("lm_head.weight.q8"));
            EXPECT_TRUE(shard->find("model.language_model.embed_tokens.weight"));
        }
    }
}

TEST(QuantizedFolder, AnotherQuantisedFormatIsRefusedWithAWayOut) {
    test::TempDir d;
    ASSERT_TRUE(quantize(test::tiny_model_dir(), d.file("q4"), WeightFormat::q4).ok());
    LoadParams lp;
    lp.weights = WeightFormat::q8;
    auto m     = Model::load(d.file("q4"), lp);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), ErrorCode::invalid_argument);
    EXPECT_NE(m.status().message().find("holds q4 weights"), std::string::npos) << m.status().message();
    EXPECT_NE(m.status().message().find("glmv-cli quantize --weights q8"), std::string::npos) << m.status().message();
    // Quantising a quantised folder again is refused the same way.
    auto again = quantize(d.file("q4"), d.file("q8"), WeightFormat::q8);
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.status().message().find("already quantised"), std::string::npos) << again.status().message();
}

TEST(QuantizedFolder, OutputFolderRules) {
    test::TempDir     d;
    const std::string out = d.file("out");
    fs::create_directories(out); // an empty folder is fine
    ASSERT_TRUE(quantize(test::tiny_model_dir(), out, WeightFormat::q8).ok());
    auto again = quantize(test::tiny_model_dir(), out, WeightFormat::q8);
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.status().message().find("--force"), std::string::npos) << again.status().message();
    // --force replaces a model folder...
    ASSERT_TRUE(quantize(test::tiny_model_dir(), out, WeightFormat::q4, true).ok());
    EXPECT_EQ(SafetensorsFile::open(out + "/model.safetensors")->metadata().at("glmv_quant"), "q4");
    // ...but not a folder that is not one, nor the source.
    fs::create_directories(d.file("notes"));
    std::ofstream(d.file("notes/todo.txt")) << "keep me";
    auto refused = quantize(test::tiny_model_dir(), d.file("notes"), WeightFormat::q8, true);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("not a model folder"), std::string::npos) << refused.status().message();
    EXPECT_TRUE(fs::exists(d.file("notes/todo.txt")));
    EXPECT_FALSE(quantize(test::tiny_model_dir(), test::tiny_model_dir(), WeightFormat::q8, true).ok());
    EXPECT_FALSE(quantize(test::tiny_model_dir(), test::tiny_model_dir() + "/sub", WeightFormat::q8).ok());
    // No temporary folder is left next to the output.
    for (auto& e : fs::directory_iterator(d.path()))
        EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(QuantizedFolder, CancellingLeavesNothingBehind) {
    test::TempDir  d;
    QuantizeParams qp;
    qp.weights     = WeightFormat::q4;
    int calls      = 0;
    qp.on_progress = [&](const QuantizeProgress& p) {
        EXPECT_LE(p.done_bytes, p.total_bytes);
        return ++calls < 4;
    };
    auto r = quantize_model(test::tiny_model_dir(), d.file("q4"), qp);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::cancelled);
    EXPECT_TRUE(fs::is_empty(d.path())) << "the temporary folder was left behind";
}

// ---- malformed quantised files ---------------------------------------------------------------------------------

namespace {

enum class Malformation {
    newer_version,
    version_not_a_number,
    no_version,
    unknown_format,
    other_group_size,
    quantised_names_without_metadata,
    data_wrong_dtype,
    data_of_the_other_format,
    scale_missing,
    scale_wrong_shape,
    scale_wrong_dtype,
    scale_without_data,
    scale_misaligned,
    shape_disagrees_with_config,
};

struct Case {
    Malformation m;
    const char*  expect; // in the error message
};

const std::string kDown = "model.language_model.layers.1.mlp.down_proj.weight"; // [128, 288]

// Rewrites q8/model.safetensors of `dir` with one malformation.
void corrupt(const std::string& dir, Malformation m) {
    const std::string path  = dir + "/model.safetensors";
    std::string       bytes = read_all(path); // the mapping must not be the file being rewritten
    auto              src = SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
    ASSERT_TRUE(src.ok());
    SafetensorsWriter w;
    auto              md = src->metadata();
    if (m == Malformation::newer_version) md["glmv_quant_version"] = std::to_string(kQuantizedFormatVersion + 1);
    if (m == Malformation::version_not_a_number) md["glmv_quant_version"] = "1.0";
    if (m == Malformation::no_version) md.erase("glmv_quant_version");
    if (m == Malformation::unknown_format) md["glmv_quant"] = "q3";
    if (m == Malformation::other_group_size) md["glmv_quant_group"] = "64";
    if (m == Malformation::quantised_names_without_metadata) md.erase("glmv_quant");
    for (auto& [k, v] : md)
        w.set_metadata(k, v);
    std::vector<uint8_t> pad(1, 0);
    if (m == Malformation::scale_misaligned) w.add("aaa.pad", DType::u8, {1}, pad.data(), 1); // data order = add order
    for (const TensorView& t : src->tensors()) {
        std::string          name  = t.name;
        DType                dtype = t.dtype;
        std::vector<int64_t> shape = t.shape;
        if (name == kDown + ".q8") {
            if (m == Malformation::data_wrong_dtype) dtype = DType::u8;
            if (m == Malformation::data_of_the_other_format) name = kDown + ".q4";
            if (m == Malformation::scale_without_data) continue;
            if (m == Malformation::shape_disagrees_with_config) shape = {64, 576};
        }
        if (name == kDown + ".q8_scale") {
            if (m == Malformation::scale_missing) continue;
            if (m == Malformation::scale_wrong_shape) shape = {9, 128};
            if (m == Malformation::scale_wrong_dtype) dtype = DType::i32;
            if (m == Malformation::shape_disagrees_with_config) shape = {64, 18};
        }
        w.add(name, dtype, shape, t.data, t.nbytes);
    }
    ASSERT_TRUE(w.write(path).ok());
}

} // namespace

TEST(QuantizedFolder, EachMalformationIsRefusedWithAClearError) {
    const Case cases[] = {
        {Malformation::newer_version, "written by a newer glmv-cli"},
        {Malformation::version_not_a_number, "not a version"},
        {Malformation::no_version, "no glmv_quant_version"},
        {Malformation::unknown_format, "unknown quantised format 'q3'"},
        {Malformation::other_group_size, "quantisation group '64'"},
        {Malformation::quantised_names_without_metadata, "no glmv_quant metadata"},
        {Malformation::data_wrong_dtype, "has dtype U8; q8 data is I8"},
        {Malformation::data_of_the_other_format, "is q4 data in a q8 file"},
        {Malformation::scale_missing, "has no scale table"},
        {Malformation::scale_wrong_shape, "its data needs F32 [128,9]"},
        {Malformation::scale_wrong_dtype, "is I32"},
        {Malformation::scale_without_data, "scale table without its data"},
        {Malformation::scale_misaligned, "not 4-byte aligned"},
        {Malformation::shape_disagrees_with_config, "[64,576], expected I8 [128,288]"},
    };
    test::TempDir d;
    ASSERT_TRUE(quantize(test::tiny_model_dir(), d.file("good"), WeightFormat::q8).ok());
    for (const Case& c : cases) {
        const std::string dir = d.file("bad");
        fs::remove_all(dir);
        fs::copy(d.file("good"), dir);
        corrupt(dir, c.m);
        auto m = Model::load(dir);
        ASSERT_FALSE(m.ok()) << int(c.m);
        std::printf("%2d: %s\n", int(c.m), m.status().message().c_str());
        EXPECT_NE(m.status().message().find(c.expect), std::string::npos) << int(c.m) << ": " << m.status().message();
        if (c.m != Malformation::shape_disagrees_with_config) {
            EXPECT_NE(m.status().message().find("glmv-cli quantize"), std::string::npos) << m.status().message();
        }
    }
}

TEST(QuantizedFolder, TruncatedOrMixedShardsFailWithoutACrash) {
    test::TempDir d;
    ASSERT_TRUE(quantize(test::tiny_model_dir(), d.file("q8"), WeightFormat::q8).ok());
    const std::string p    = d.file("q8/model.safetensors");
    const std::string full = read_all(p);
    for (uint64_t cut :
         {uint64_t(0), uint64_t(8), uint64_t(200), uint64_t(full.size() / 2), uint64_t(full.size() - 1)}) {
        std::ofstream(p, std::ios::binary | std::ios::trunc).write(full.data(), std::streamsize(cut));
        auto m = Model::load(d.file("q8"));
        ASSERT_FALSE(m.ok()) << cut;
        EXPECT_NE(m.status().message().find("model.safetensors"), std::string::npos) << m.status().message();
    }
    // A quantised shard among ordinary ones (a half-copied folder) is refused as a whole.
    const std::string src = d.file("sharded");
    write_sharded_copy(src, false);
    ASSERT_TRUE(quantize(src, src + "-q4", WeightFormat::q4).ok());
    fs::copy_file(src + "/model-00001-of-00002.safetensors", src + "-q4/model-00001-of-00002.safetensors",
                  fs::copy_options::overwrite_existing);
    auto m = Model::load(src + "-q4");
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().message().find("mixes files of different formats"), std::string::npos) << m.status().message();
}
