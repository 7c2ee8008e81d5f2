// The engine against Hugging Face transformers on the tiny random-weight GLM-4.1V fixture (fixtures/README.md):
// logits within 1e-3 · max|logit|, identical 3D positions and greedy tokens, every captured intermediate within
// 1e-3 of its own max — so a regression points at its stage.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "../../inference/src/ops/gemm.h"
#include "glmv/inference/engine.h"
#include "glmv/inference/safetensors.h"
#include "test_util.h"

using namespace glmv;

namespace {

struct Fixture {
    std::shared_ptr<const Model>     model;      // fp32 prompt products: the reference's arithmetic
    std::shared_ptr<const Model>     bf16_model; // bf16 prompt products (LoadParams::prompt_arithmetic)
    std::unique_ptr<SafetensorsFile> ref;
};

Fixture& fixture() {
    static Fixture f = [] {
        Fixture    x;
        LoadParams exact, bf16;
        exact.prompt_arithmetic = PromptArithmetic::exact;
        bf16.prompt_arithmetic  = PromptArithmetic::bf16;
        auto m                  = Model::load(test::tiny_model_dir(), exact);
        EXPECT_TRUE(m.ok()) << m.status().to_string();
        if (m.ok()) x.model = m.value();
        auto mb = Model::load(test::tiny_model_dir(), bf16);
        EXPECT_TRUE(mb.ok()) << mb.status().to_string();
        if (mb.ok()) x.bf16_model = mb.value();
        auto r = SafetensorsFile::open(test::tiny_dir() + "/reference.safetensors");
        EXPECT_TRUE(r.ok()) << r.status().to_string();
        if (r.ok()) x.ref = std::make_unique<SafetensorsFile>(std::move(r.value()));
        return x;
    }();
    return f;
}

std::vector<float> ref_f32(const std::string& name) {
    const TensorView* t = fixture().ref->find(name);
    EXPECT_NE(t, nullptr) << name;
    return t ? tensor_to_f32(*t) : std::vector<float>{};
}

std::vector<int64_t> ref_i64(const std::string& name) {
    const TensorView* t = fixture().ref->find(name);
    EXPECT_NE(t, nullptr) << name;
    return t ? tensor_to_i64(*t) : std::vector<int64_t>{};
}

std::vector<GridTHW> grids(const std::string& name) {
    auto                 v = ref_i64(name);
    std::vector<GridTHW> g;
    for (size_t i = 0; i + 2 < v.size() + 0 && i < v.size(); i += 3) g.push_back({v[i], v[i + 1], v[i + 2]});
    return g;
}

// max |a − b| / max |b|
double relative_error(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
    EXPECT_EQ(got.size(), want.size()) << what;
    double max_ref = 0, max_err = 0;
    for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
        max_ref = std::max(max_ref, double(std::fabs(want[i])));
        max_err = std::max(max_err, double(std::fabs(got[i] - want[i])));
    }
    if (std::getenv("GLMV_VERBOSE")) std::printf("%-40s max err %.3g  max ref %.3g\n", what.c_str(), max_err, max_ref);
    return max_ref > 0 ? max_err / max_ref : max_err;
}

// max |a − b| ≤ rel · max |b|
void expect_close(const std::vector<float>& got, const std::vector<float>& want, double rel, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    EXPECT_LE(relative_error(got, want, what), rel) << what << ": max abs error over max |ref|";
}

ModelInputs inputs_for(const std::string& chat) {
    ModelInputs in;
    in.input_ids = ref_i64(chat + ".input_ids");
    if (fixture().ref->find(chat + ".mm_token_type_ids")) in.mm_token_type_ids = ref_i64(chat + ".mm_token_type_ids");
    if (fixture().ref->find(chat + ".pixel_values")) {
        in.pixel_values   = ref_f32(chat + ".pixel_values");
        in.image_grid_thw = grids(chat + ".image_grid_thw");
    }
    if (fixture().ref->find(chat + ".pixel_values_videos")) {
        in.pixel_values_videos = ref_f32(chat + ".pixel_values_videos");
        in.video_grid_thw      = grids(chat + ".video_grid_thw");
    }
    return in;
}

// Greedy generation under the given work limits reproduces the reference tokens (all of them, or up to the end
// of sequence).
void expect_greedy_generation_matches(const std::string& chat, const ModelInputs& in, const WorkLimits& limits,
                                      std::shared_ptr<const Model> model = fixture().model) {
    Session g(std::move(model));
    g.set_work_limits(limits);
    GenerationParams gp;
    gp.sampling.greedy = true;
    auto want          = ref_i64(chat + ".generated");
    gp.max_new_tokens  = int(want.size());
    auto r             = g.generate(in, gp, [](int64_t) { return true; });
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->tokens, std::vector<int64_t>(want.begin(), want.begin() + std::min(want.size(), r->tokens.size())));
    EXPECT_EQ(r->tokens.size() == want.size() || r->stop == GenerationResult::Stop::eos, true);
}

void check_chat(const std::string& chat, bool with_intermediates) {
    ASSERT_TRUE(fixture().model && fixture().ref);
    ModelInputs                               in = inputs_for(chat);
    Session                                   s(fixture().model);
    std::map<std::string, std::vector<float>> taps;
    s.set_activation_tap([&](const std::string& name, const float* d, int64_t rows, int64_t cols) {
        taps[name].assign(d, d + rows * cols);
    });
    std::vector<float> logits;
    Status             st = s.forward_all(in, &logits);
    ASSERT_TRUE(st.ok()) << st.to_string();
    expect_close(logits, ref_f32(chat + ".logits"), 1e-3, chat + " logits");
    if (fixture().ref->find(chat + ".position_ids")) {
        EXPECT_EQ(s.position_ids(), ref_i64(chat + ".position_ids"));
    }
    if (fixture().ref->find(chat + ".rope_delta")) {
        EXPECT_EQ(s.rope_delta(), ref_i64(chat + ".rope_delta")[0]);
    }
    if (with_intermediates) {
        int compared = 0;
        for (const TensorView& t : fixture().ref->tensors()) {
            const std::string prefix = chat + ".";
            if (t.name.rfind(prefix + "vision.", 0) != 0 && t.name.rfind(prefix + "text.", 0) != 0) continue;
            const std::string stage = t.name.substr(prefix.size());
            ASSERT_TRUE(taps.count(stage)) << "engine did not report stage " << stage;
            expect_close(taps[stage], tensor_to_f32(t), 1e-3, chat + " " + stage);
            ++compared;
        }
        EXPECT_GE(compared, 10);
    }
    expect_greedy_generation_matches(chat, in, WorkLimits{});
}

// The prompt in chunks of 7 tokens and every image / frame pair through the vision tower on its own (the work
// limits that bound memory for long videos) give the reference's logits and greedy tokens, and the whole-run
// logits up to float rounding.
void check_chunked(const std::string& chat) {
    ASSERT_TRUE(fixture().model && fixture().ref);
    const ModelInputs  in = inputs_for(chat);
    Session            whole(fixture().model), chunked(fixture().model);
    WorkLimits         small;
    small.prefill_chunk_tokens = 7;
    small.vision_group_patches = 1;
    chunked.set_work_limits(small);
    WorkLimits huge;
    huge.prefill_chunk_tokens = 1 << 30;
    huge.vision_group_patches = 1 << 30;
    whole.set_work_limits(huge);
    std::vector<float> a, b;
    ASSERT_TRUE(whole.forward_all(in, &a).ok());
    ASSERT_TRUE(chunked.forward_all(in, &b).ok());
    ASSERT_GT(in.input_ids.size(), 3 * size_t(small.prefill_chunk_tokens));
    expect_close(b, ref_f32(chat + ".logits"), 1e-3, chat + " chunked logits");
    // The two runs give some products different row counts, so different kernels: up to 64 rows take the bf16
    // matrix-vector kernels (x split into two bf16 halves, ~1e-5 relative per element), more rows the fp32 matrix
    // product. Hence 5e-5 of the largest logit; a chunk at wrong positions is off by far more (measured: 7).
    expect_close(b, a, 5e-5, chat + " chunked vs whole logits");
    expect_greedy_generation_matches(chat, in, small);
}

// bf16 prompt products (inputs and weights rounded to bf16, fp32 sums; the default where the CPU multiplies bf16
// natively) stay near the reference: logits within 1e-2 of the largest (measured 4.2e-3 to 4.5e-3 on the 2-core
// Zen 5 VM), the same greedy tokens. They must also differ from the fp32 products, or the bf16 path did not run.
void check_bf16_chat(const std::string& chat) {
    ASSERT_TRUE(fixture().model && fixture().bf16_model && fixture().ref);
    ASSERT_TRUE(fixture().bf16_model->bf16_prompt_products());
    ASSERT_FALSE(fixture().model->bf16_prompt_products());
    const ModelInputs  in = inputs_for(chat);
    std::vector<float> exact, bf16;
    ASSERT_TRUE(Session(fixture().model).forward_all(in, &exact).ok());
    ASSERT_TRUE(Session(fixture().bf16_model).forward_all(in, &bf16).ok());
    EXPECT_LE(relative_error(bf16, ref_f32(chat + ".logits"), chat + " bf16 logits"), 1e-2);
    EXPECT_GT(relative_error(bf16, exact, chat + " bf16 vs fp32 logits"), 1e-4);
    expect_greedy_generation_matches(chat, in, WorkLimits{}, fixture().bf16_model);
}

} // namespace

TEST(ParityTiny, ChunkedPrefillAndGroupedVisionImageChat) { check_chunked("image_chat"); }
TEST(ParityTiny, ChunkedPrefillAndGroupedVisionVideoChat) { check_chunked("video_chat"); }

// By the first generated token the KV cache has room for the whole turn, so no decode step grows (copies) it; a
// second, longer turn reserves again and keeps the cached prefix.
TEST(ParityTiny, KvCacheIsReservedForTheWholeTurn) {
    ASSERT_TRUE(fixture().model && fixture().ref);
    ModelInputs      in = inputs_for("text_chat");
    Session          s(fixture().model);
    GenerationParams gp;
    gp.stop_token_ids               = {-1};
    gp.sampling.greedy              = true;
    int64_t capacity_at_first_token = -1;
    auto    turn                    = [&](int max_new_tokens) {
        gp.max_new_tokens       = max_new_tokens;
        capacity_at_first_token = -1;
        return s.generate(in, gp, [&](int64_t) {
            if (capacity_at_first_token < 0) capacity_at_first_token = s.kv_capacity_tokens();
            return true;
        });
    };
    const int64_t S = int64_t(in.input_ids.size());
    auto          r = turn(12);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_GE(capacity_at_first_token, S + 12);
    EXPECT_EQ(s.cached_tokens(), S + 12 - 1); // the last token is returned, not yet run
    in.input_ids.insert(in.input_ids.end(), r->tokens.begin(), r->tokens.end());
    in.input_ids.insert(in.input_ids.end(), 40, in.input_ids[size_t(S - 1)]);
    auto r2 = turn(100);
    ASSERT_TRUE(r2.ok()) << r2.status().to_string();
    EXPECT_GE(capacity_at_first_token, int64_t(in.input_ids.size()) + 100);
    EXPECT_GE(r2->reused_tokens, S);
}

TEST(ParityTiny, ImageChatLogitsPositionsIntermediatesAndGreedy) { check_chat("image_chat", true); }
TEST(ParityTiny, TextChatLogitsAndGreedy) { check_chat("text_chat", false); }
TEST(ParityTiny, VideoChatLogitsPositionsAndGreedy) { check_chat("video_chat", false); }

TEST(ParityTiny, Bf16PromptProductsImageChat) {
    if (!ops::native_bf16_products()) GTEST_SKIP() << "this CPU has no native bf16 products (AVX512-BF16 or AMX)";
    check_bf16_chat("image_chat");
}
TEST(ParityTiny, Bf16PromptProductsVideoChat) {
    if (!ops::native_bf16_products()) GTEST_SKIP() << "this CPU has no native bf16 products (AVX512-BF16 or AMX)";
    check_bf16_chat("video_chat");
}
