// Sampling semantics (HF order: repetition penalty, temperature, top-k, top-p) and generation controls.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <thread>

#include "glmv/inference/engine.h"
#include "../../inference/src/sampling/sampler.h"
#include "test_util.h"

using namespace glmv;

TEST(Sampler, GreedyPicksArgmaxAfterRepetitionPenalty) {
    SamplingParams p;
    p.greedy             = true;
    p.repetition_penalty = 2.0f;
    Sampler            s(p);
    std::vector<float> logits = {1.0f, 3.0f, 2.0f};
    EXPECT_EQ(s.sample(logits, {1}), 2); // 3 / 2 = 1.5 < 2
    EXPECT_FLOAT_EQ(logits[1], 1.5f);
    std::vector<float> neg = {-1.0f, -3.0f};
    Sampler            s2(p);
    EXPECT_EQ(s2.sample(neg, {0}), 0); // -1·2 = -2 > -3
}

TEST(Sampler, TopKOneIsGreedyAndSeedIsReproducible) {
    SamplingParams p;
    p.top_k = 1;
    Sampler s(p);
    for (int i = 0; i < 20; ++i) {
        std::vector<float> l = {0.1f, 0.5f, 0.4f};
        EXPECT_EQ(s.sample(l, {}), 1);
    }
    SamplingParams q;
    q.seed = 42;
    Sampler a(q), b(q);
    for (int i = 0; i < 50; ++i) {
        std::vector<float> l1 = {0.f, 0.1f, 0.2f, 0.3f}, l2 = l1;
        EXPECT_EQ(a.sample(l1, {}), b.sample(l2, {}));
    }
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
    SamplingParams p;
    p.top_p = 0.5f;
    p.seed  = 7;
    Sampler            s(p);
    std::map<int64_t, int> counts;
    for (int i = 0; i < 400; ++i) {
        // probabilities ≈ 0.64, 0.24, 0.09, 0.03: top-p 0.5 keeps only the first
        std::vector<float> l = {3.f, 2.f, 1.f, 0.f};
        counts[s.sample(l, {})]++;
    }
    EXPECT_EQ(counts[0], 400);
    SamplingParams p2;
    p2.top_p = 0.8f;
    p2.seed  = 7;
    Sampler s2(p2);
    counts.clear();
    for (int i = 0; i < 2000; ++i) {
        std::vector<float> l = {3.f, 2.f, 1.f, 0.f};
        counts[s2.sample(l, {})]++;
    }
    EXPECT_GT(counts[1], 300); // 0.24 / 0.88 of the mass
    EXPECT_EQ(counts[2] + counts[3], 0);
}

TEST(Sampler, FullDistributionWithoutTopKOrTopP) {
    SamplingParams p;
    p.seed = 11;
    Sampler                s(p);
    std::map<int64_t, int> counts;
    for (int i = 0; i < 4000; ++i) {
        std::vector<float> l = {3.f, 2.f, 1.f, 0.f}; // ≈ 0.644, 0.237, 0.087, 0.032
        counts[s.sample(l, {})]++;
    }
    EXPECT_NEAR(counts[0] / 4000.0, 0.644, 0.03);
    EXPECT_NEAR(counts[1] / 4000.0, 0.237, 0.03);
    EXPECT_NEAR(counts[2] / 4000.0, 0.087, 0.02);
    EXPECT_NEAR(counts[3] / 4000.0, 0.032, 0.015);
}

// A vocabulary of the real model's size where the top-p set reaches far below the best logit: one token at +10 and
// 151551 tied at 0 (p0 = e^10 / (e^10 + 151551) ≈ 0.127). Top-p 0.5 keeps token 0 and the first ~56,000 tied
// tokens by id, so no sample may come from the rest, and token 0 is drawn 0.127 / 0.5 of the time.
TEST(Sampler, TopPReachesDeepIntoALargeVocabulary) {
    const int64_t  V = 151552;
    SamplingParams p;
    p.top_p = 0.5f;
    p.seed  = 3;
    Sampler       s(p);
    const double  p0 = std::exp(10.0) / (std::exp(10.0) + double(V - 1)), tail = 1.0 / (std::exp(10.0) + double(V - 1));
    const int64_t last_kept = int64_t(std::ceil((0.5 - p0) / tail)); // tied tokens 1..last_kept
    int           zero      = 0;
    int64_t       highest   = 0;
    for (int i = 0; i < 400; ++i) {
        std::vector<float> l(size_t(V), 0.f);
        l[0]            = 10.f;
        const int64_t t = s.sample(l, {});
        zero += t == 0;
        highest = std::max(highest, t);
    }
    EXPECT_LE(highest, last_kept + 1);
    EXPECT_GT(highest, last_kept / 2);         // the tail is really sampled
    EXPECT_NEAR(zero / 400.0, p0 / 0.5, 0.07); // 3.2 standard deviations
}

TEST(Sampler, TopKAmongTiesTakesTheLowestIds) {
    SamplingParams p;
    p.top_k = 3;
    p.seed  = 5;
    Sampler                s(p);
    std::map<int64_t, int> counts;
    for (int i = 0; i < 600; ++i) {
        std::vector<float> l(1000, 0.f);
        l[500] = 20.f; // far above: the margin must widen to find two more candidates
        l[700] = 19.f;
        counts[s.sample(l, {})]++;
    }
    EXPECT_EQ(counts[500] + counts[700] + counts[0], 600); // the third is the lowest id of the 998 tied at 0
    EXPECT_GT(counts[700], 100);                           // e^19 / (e^20 + e^19) ≈ 0.27
}

TEST(Generation, CancelFromAnotherThreadStopsWithinOneToken) {
    auto m = Model::load(test::tiny_model_dir());
    ASSERT_TRUE(m.ok());
    Session          s(m.value());
    ModelInputs      in;
    in.input_ids = {5, 6, 7, 8};
    GenerationParams gp;
    gp.sampling.greedy = true;
    gp.max_new_tokens  = 100000;
    gp.stop_token_ids  = {-5}; // never stops by itself
    std::atomic<int> seen{0};
    int              at_cancel = -1;
    auto             r         = s.generate(in, gp, [&](int64_t) {
        if (++seen == 10) {
            std::thread([&] { s.request_cancel(); }).join();
            at_cancel = seen;
        }
        return true;
    });
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->stop, GenerationResult::Stop::cancelled);
    EXPECT_LE(int(r->tokens.size()), at_cancel + 1);
}

TEST(Generation, ThinkingBudgetForcesTheAnswerTags) {
    auto m = Model::load(test::tiny_model_dir());
    ASSERT_TRUE(m.ok());
    Session          s(m.value());
    ModelInputs      in;
    in.input_ids = {5, 6, 7, 8};
    GenerationParams gp;
    gp.sampling.greedy     = true;
    gp.max_new_tokens      = 30;
    gp.stop_token_ids      = {-5};
    gp.think_start_id      = -2; // the prompt ends inside thinking: treat as in-think from the start
    gp.thinking_budget     = 3;
    gp.think_end_id        = 1000;
    gp.force_after_budget  = {1000, 1001};
    // Emulate a prompt that opened <think>: the first generated token flips state only via think_start_id,
    // so use a token the model emits: run once to learn it.
    auto first = s.generate(in, gp, [](int64_t) { return true; });
    ASSERT_TRUE(first.ok());
    gp.think_start_id = first->tokens[0];
    Session s2(m.value());
    auto    r = s2.generate(in, gp, [](int64_t) { return true; });
    ASSERT_TRUE(r.ok());
    // <think-start>, 3 budget tokens, the 4th exceeds → forced 1000 1001 follow.
    ASSERT_GE(r->tokens.size(), 7u);
    EXPECT_EQ(r->tokens[5], 1000);
    EXPECT_EQ(r->tokens[6], 1001);
}

TEST(Generation, FollowUpTurnReusesTheCachedPrefix) {
    auto m = Model::load(test::tiny_model_dir());
    ASSERT_TRUE(m.ok());
    Session          s(m.value());
    ModelInputs      in;
    in.input_ids = {5, 6, 7, 8, 9, 10};
    GenerationParams gp;
    gp.sampling.greedy = true;
    gp.max_new_tokens  = 4;
    gp.stop_token_ids  = {-5};
    auto r1            = s.generate(in, gp, [](int64_t) { return true; });
    ASSERT_TRUE(r1.ok());
    EXPECT_EQ(r1->reused_tokens, 0);
    ModelInputs in2 = in;
    in2.input_ids.insert(in2.input_ids.end(), r1->tokens.begin(), r1->tokens.end());
    in2.input_ids.insert(in2.input_ids.end(), {11, 12});
    auto r2 = s.generate(in2, gp, [](int64_t) { return true; });
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2->reused_tokens, int64_t(in.input_ids.size() + r1->tokens.size() - 1));
    // Same result as a fresh session.
    Session fresh(m.value());
    auto    r3 = fresh.generate(in2, gp, [](int64_t) { return true; });
    ASSERT_TRUE(r3.ok());
    EXPECT_EQ(r2->tokens, r3->tokens);
}
