// The conversation pipeline without a model: settings that shape the inputs.
#include <gtest/gtest.h>

#include "glmv/pipeline/chat_engine.h"
#include "test_util.h"

using namespace glmv;

TEST(Pipeline, UserPixelCapLowersTheImageGridButNeverRaisesIt) {
    pipeline::Turn turn{"user", "What is this?", {{pipeline::Attachment::Kind::image, test::tiny_dir() + "/images/medium.png", {}, 1, 0}}};
    pipeline::ChatSettings s;
    auto full = pipeline::prepare_prompt(test::assets_dir(), {turn}, s);
    ASSERT_TRUE(full.ok()) << full.status().to_string();
    ASSERT_EQ(full->inputs.image_grid_thw.size(), 1u);
    EXPECT_EQ(full->inputs.image_grid_thw[0], (GridTHW{1, 34, 46})); // 640×480, as the reference
    s.max_image_pixels = 100000;
    auto capped = pipeline::prepare_prompt(test::assets_dir(), {turn}, s);
    ASSERT_TRUE(capped.ok());
    const GridTHW g = capped->inputs.image_grid_thw[0];
    EXPECT_LE(2 * g.h * 14 * g.w * 14, 100000);
    EXPECT_LT(capped->inputs.input_ids.size(), full->inputs.input_ids.size());
    s.max_image_pixels = int64_t(1) << 40; // above the model's budget: no effect
    auto big = pipeline::prepare_prompt(test::assets_dir(), {turn}, s);
    ASSERT_TRUE(big.ok());
    EXPECT_EQ(big->inputs.image_grid_thw[0], (GridTHW{1, 34, 46}));
}

TEST(Pipeline, ConversationErrorsAreClear) {
    pipeline::ChatSettings s;
    auto r = pipeline::prepare_prompt(test::assets_dir(), {{"assistant", "hi", {{pipeline::Attachment::Kind::image, "x.png", {}, 1, 0}}}}, s);
    EXPECT_FALSE(r.ok());
    r = pipeline::prepare_prompt(test::assets_dir() + "/nope", {{"user", "hi", {}}}, s);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("config.json"), std::string::npos) << r.status().message();
}
