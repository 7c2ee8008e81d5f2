// Preprocessing units: smart_resize cases by hand from the HF formula, config parsing, patch order, video padding.
#include <numeric>

#include "glmv/inference/preprocess.h"
#include "media_test_util.h"

using namespace glmv;

namespace {

ResizedSize sr(int64_t t, int64_t h, int64_t w, int64_t mn = 12544, int64_t mx = 9633792) {
    auto r = smart_resize(t, h, w, 2, 28, mn, mx);
    EXPECT_TRUE(r) << r.status().to_string();
    return r ? *r : ResizedSize{};
}

TEST(SmartResize, HandComputedCases) {
    // Already within the budget: nearest multiples of 28 (banker's rounding: 70/28 = 2.5 → 2, 98/28 = 3.5 → 4).
    EXPECT_EQ(sr(6, 70, 98).height, 56);
    EXPECT_EQ(sr(6, 70, 98).width, 112);
    // Tiny: 20×20 → 28×28 → below min → β = √8 → 84×84.
    EXPECT_EQ(sr(2, 20, 20).height, 84);
    // Over the budget: 4000×3000 with the real model's 9,633,792 → floor(h/β/28)·28.
    auto big = sr(2, 3000, 4000);
    EXPECT_LE(2 * int64_t(big.height) * big.width, 2 * 9633792);
    EXPECT_EQ(big.height % 28, 0);
    EXPECT_EQ(big.width % 28, 0);
    EXPECT_EQ(big.height, 1876); // β = √(2·3000·4000 / 9633792) = 1.578; ⌊3000/β/28⌋·28
    EXPECT_EQ(big.width, 2520);
}

TEST(SmartResize, Errors) {
    EXPECT_EQ(smart_resize(2, 1, 300, 2, 28, 12544, 9633792).status().code(), ErrorCode::out_of_range); // aspect
    EXPECT_FALSE(smart_resize(2, 0, 10, 2, 28, 12544, 9633792));
    EXPECT_FALSE(smart_resize(1, 100, 100, 2, 28, 12544, 9633792)); // fewer frames than the temporal patch
    EXPECT_TRUE(smart_resize(2, 28, 28 * 200, 2, 28, 12544, 9633792));  // exactly 200:1 is allowed
}

TEST(ProcessorConfig, ParsesBothSchemasAndRejectsBadValues) {
    auto c = parse_processor_config(R"({"size": {"shortest_edge": 100, "longest_edge": 5000}, "patch_size": 16,
                                        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]})",
                                    false);
    ASSERT_TRUE(c) << c.status().to_string();
    EXPECT_EQ(c->min_pixels, 100);
    EXPECT_EQ(c->max_pixels, 5000);
    EXPECT_EQ(c->patch_size, 16);
    auto legacy = parse_processor_config(R"({"min_pixels": 3136, "max_pixels": 1003520})", false);
    ASSERT_TRUE(legacy);
    EXPECT_EQ(legacy->max_pixels, 1003520);
    auto video = parse_processor_config("{}", true);
    ASSERT_TRUE(video);
    EXPECT_EQ(video->max_pixels, 47040000);
    for (const char* bad : {"[]", "{", R"({"patch_size": "14"})", R"({"patch_size": 0})", R"({"image_std": [1, 0, 1]})",
                            R"({"image_mean": [1, 2]})", R"({"size": {"shortest_edge": 10, "longest_edge": 5}})",
                            R"({"patch_size": 14.5})"})
        EXPECT_FALSE(parse_processor_config(bad, false)) << bad;
    EXPECT_EQ(load_image_processor_config("/nonexistent.json").status().code(), ErrorCode::not_found);
    auto real = load_image_processor_config(test::assets_dir() + "/preprocessor_config.json");
    ASSERT_TRUE(real);
    EXPECT_EQ(real->max_pixels, 9633792);
}

// With resize and normalisation off, each value is the raw byte, so the row layout can be checked exactly:
// rows (block row, block col, in-block row, in-block col), columns (channel, temporal, py, px).
TEST(Patchify, RowAndColumnOrder) {
    const int            H = 56, W = 84; // gh = 4, gw = 6
    std::vector<uint8_t> img(size_t(H) * W * 3);
    for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
            for (int c = 0; c < 3; ++c) img[(size_t(y) * W + x) * 3 + c] = uint8_t((y * 3 + x * 5 + c * 7) % 251);
    ImageProcessorConfig cfg;
    cfg.do_resize = cfg.do_normalize = cfg.do_rescale = false;
    auto pv = preprocess_image({img.data(), W, H}, cfg);
    ASSERT_TRUE(pv) << pv.status().to_string();
    EXPECT_EQ(pv->grid_thw, (std::array<int64_t, 3>{1, 4, 6}));
    ASSERT_EQ(pv->n_rows, 24);
    for (int64_t row = 0; row < pv->n_rows; ++row) {
        int64_t bh = row / (3 * 4), bw = (row / 4) % 3, mh = (row / 2) % 2, mw = row % 2;
        int64_t py0 = (bh * 2 + mh) * 14, px0 = (bw * 2 + mw) * 14;
        for (int c = 0; c < 3; ++c)
            for (int t = 0; t < 2; ++t)
                for (int py = 0; py < 14; ++py)
                    for (int px = 0; px < 14; ++px) {
                        float got  = pv->values[size_t(row * 1176 + ((c * 2 + t) * 14 + py) * 14 + px)];
                        float want = img[(size_t(py0 + py) * W + px0 + px) * 3 + c];
                        ASSERT_EQ(got, want) << "row " << row << " c " << c << " t " << t;
                    }
    }
}

TEST(PreprocessVideo, OddFrameCountRepeatsTheLast) {
    std::vector<std::vector<uint8_t>> frames(3, std::vector<uint8_t>(56 * 56 * 3));
    for (int f = 0; f < 3; ++f) std::fill(frames[f].begin(), frames[f].end(), uint8_t(50 * (f + 1)));
    std::vector<RgbView> views;
    for (auto& f : frames) views.push_back({f.data(), 56, 56});
    ImageProcessorConfig cfg;
    cfg.do_normalize = cfg.do_rescale = false;
    cfg.min_pixels                    = 1;
    auto pv = preprocess_video(views, cfg);
    ASSERT_TRUE(pv) << pv.status().to_string();
    EXPECT_EQ(pv->grid_thw[0], 2);
    // Second temporal group: frame 2 then its repeat.
    const float* row = &pv->values[size_t(pv->n_rows / 2) * 1176];
    EXPECT_EQ(row[0], 150.0f);
    EXPECT_EQ(row[196], 150.0f);
    std::vector<uint8_t> other(28 * 28 * 3);
    views.push_back({other.data(), 28, 28});
    EXPECT_FALSE(preprocess_video(views, cfg)); // frames of different sizes
}

} // namespace
