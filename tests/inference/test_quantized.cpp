// q8 / q4 weights against bf16 on the fixture: KL divergence of the next-token distributions and top-1 agreement.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>

#include "glmv/inference/engine.h"
#include "glmv/inference/safetensors.h"
#include "test_util.h"

using namespace glmv;

namespace {

struct Agreement {
    double mean_kl = 0;
    double top1    = 0;
};

Agreement compare(const std::vector<float>& p_logits, const std::vector<float>& q_logits, int64_t V) {
    const int64_t S = int64_t(p_logits.size()) / V;
    Agreement     a;
    for (int64_t s = 0; s < S; ++s) {
        const float* p = p_logits.data() + s * V;
        const float* q = q_logits.data() + s * V;
        double       mp = -1e30, mq = -1e30;
        int64_t      ap = 0, aq = 0;
        for (int64_t i = 0; i < V; ++i) {
            if (p[i] > mp) mp = p[i], ap = i;
            if (q[i] > mq) mq = q[i], aq = i;
        }
        double zp = 0, zq = 0;
        for (int64_t i = 0; i < V; ++i) zp += std::exp(p[i] - mp), zq += std::exp(q[i] - mq);
        double kl = 0;
        for (int64_t i = 0; i < V; ++i) {
            double lp = p[i] - mp - std::log(zp), lq = q[i] - mq - std::log(zq);
            kl += std::exp(lp) * (lp - lq);
        }
        a.mean_kl += kl / double(S);
        a.top1 += (ap == aq) / double(S);
    }
    return a;
}

} // namespace

TEST(Quantized, Q8AndQ4StayCloseToBf16OnTheFixture) {
    auto ref = SafetensorsFile::open(test::tiny_dir() + "/reference.safetensors");
    ASSERT_TRUE(ref.ok());
    ModelInputs in;
    in.input_ids      = tensor_to_i64(*ref->find("image_chat.input_ids"));
    in.pixel_values   = tensor_to_f32(*ref->find("image_chat.pixel_values"));
    auto g            = tensor_to_i64(*ref->find("image_chat.image_grid_thw"));
    in.image_grid_thw = {{g[0], g[1], g[2]}, {g[3], g[4], g[5]}};
    std::map<WeightFormat, std::vector<float>> logits;
    for (WeightFormat f : {WeightFormat::bf16, WeightFormat::q8, WeightFormat::q4}) {
        LoadParams lp;
        lp.weights = f;
        auto m     = Model::load(test::tiny_model_dir(), lp);
        ASSERT_TRUE(m.ok()) << m.status().to_string();
        if (f != WeightFormat::bf16) {
            EXPECT_LT(m.value()->weight_bytes(), Model::load(test::tiny_model_dir()).value()->weight_bytes());
        }
        Session s(m.value());
        ASSERT_TRUE(s.forward_all(in, &logits[f]).ok());
    }
    const int64_t V  = 2048;
    Agreement     q8 = compare(logits[WeightFormat::bf16], logits[WeightFormat::q8], V);
    Agreement     q4 = compare(logits[WeightFormat::bf16], logits[WeightFormat::q4], V);
    std::printf("q8: mean KL %.5f, top-1 agreement %.3f\nq4: mean KL %.5f, top-1 agreement %.3f\n", q8.mean_kl, q8.top1,
                q4.mean_kl, q4.top1);
    EXPECT_LT(q8.mean_kl, 0.01);
    EXPECT_GE(q8.top1, 0.95);
    // 4 bits on a random-weight network (no structure, logits up to ±15) is a worst case: measured KL 0.30 and
    // top-1 0.67 here; a broken q4 path gives KL of several nats.
    EXPECT_LT(q4.mean_kl, 0.35);
    EXPECT_GE(q4.top1, 0.6);
}
