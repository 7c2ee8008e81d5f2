// video.mkv (FFV1, 10 fps, 30 frames 98×70) → the reference sampled indices and timestamps, frames identical to
// video_frames.npy, and pixel_values_videos / video_grid_thw within max abs 0.03, mean abs 0.002.
#include <cstring>

#include <nlohmann/json.hpp>

#include "glmv/inference/preprocess.h"
#include "glmv/media/video.h"
#include "parity_util.h"

using namespace glmv;

namespace {

const std::string video_path() { return test::tiny_dir() + "/images/video.mkv"; }

// Minimal .npy reader for the uint8 [30,70,98,3] fixture: magic, header length, header text, raw data.
std::vector<uint8_t> npy_payload(const std::string& path) {
    auto b = test::read_bytes(path);
    if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0) return {};
    size_t header = b[6] == 1 ? (b[8] | b[9] << 8) + 10 : (b[8] | b[9] << 8 | b[10] << 16 | b[11] << 24) + 12;
    return std::vector<uint8_t>(b.begin() + std::ptrdiff_t(header), b.end());
}

TEST(VideoParity, ProbeAndSampling) {
    auto info = media::probe_video(video_path());
    ASSERT_TRUE(info) << info.status().to_string();
    EXPECT_DOUBLE_EQ(info->fps, 10.0);
    EXPECT_EQ(info->n_frames, 30);
    EXPECT_NEAR(info->duration_s, 3.0, 1e-9);
    EXPECT_EQ(info->width, 98);
    EXPECT_EQ(info->height, 70);
    EXPECT_EQ(info->codec, "ffv1");
    auto idx = media::sample_frame_indices(info->n_frames, info->fps, info->duration_s);
    EXPECT_EQ(idx, (std::vector<int64_t>{0, 5, 10, 15, 20, 25}));
}

TEST(VideoParity, PixelValuesMatchReference) {
    auto v = media::load_video(video_path());
    ASSERT_TRUE(v) << v.status().to_string();
    std::ifstream  f(test::tiny_dir() + "/reference.json");
    nlohmann::json meta = nlohmann::json::parse(f)["video"];
    EXPECT_EQ(v->indices, meta["sampled_indices"].get<std::vector<int64_t>>());
    auto ts = meta["sampled_timestamps"].get<std::vector<double>>();
    ASSERT_EQ(v->timestamps.size(), ts.size());
    for (size_t i = 0; i < ts.size(); ++i) EXPECT_NEAR(v->timestamps[i], ts[i], 1e-9);

    // Lossless FFV1: decoded frames equal the .npy frames exactly.
    auto npy = npy_payload(test::tiny_dir() + "/images/video_frames.npy");
    ASSERT_EQ(npy.size(), size_t(30 * 70 * 98 * 3));
    ASSERT_EQ(v->frames.size(), 6u);
    for (size_t i = 0; i < v->frames.size(); ++i) {
        const auto& img = v->frames[i].image;
        ASSERT_EQ(img.width, 98);
        ASSERT_EQ(img.height, 70);
        const uint8_t* want = npy.data() + size_t(v->indices[i]) * 70 * 98 * 3;
        EXPECT_EQ(std::memcmp(img.rgb.data(), want, img.rgb.size()), 0) << "frame " << v->indices[i];
    }

    auto cfg = load_video_processor_config(test::tiny_model_dir() + "/video_preprocessor_config.json");
    ASSERT_TRUE(cfg) << cfg.status().to_string();
    std::vector<RgbView> views;
    for (auto& fr : v->frames) views.push_back({fr.image.rgb.data(), fr.image.width, fr.image.height});
    auto pv = preprocess_video(views, *cfg);
    ASSERT_TRUE(pv) << pv.status().to_string();
    auto grid = meta["grid"].get<std::vector<int64_t>>();
    EXPECT_EQ(pv->grid_thw[0], grid[0]);
    EXPECT_EQ(pv->grid_thw[1], grid[1]);
    EXPECT_EQ(pv->grid_thw[2], grid[2]);

    const TensorView* ref_grid = test::reference().find("video_chat.video_grid_thw");
    ASSERT_NE(ref_grid, nullptr);
    auto rg = tensor_to_i64(*ref_grid);
    EXPECT_EQ(rg, (std::vector<int64_t>{pv->grid_thw[0], pv->grid_thw[1], pv->grid_thw[2]}));
    const TensorView* ref = test::reference().find("video_chat.pixel_values_videos");
    ASSERT_NE(ref, nullptr);
    EXPECT_EQ(ref->shape[0], pv->n_rows);
    auto e = test::compare(pv->values, tensor_to_f32(*ref));
    std::printf("video max_abs %.5f mean_abs %.6f\n", e.max_abs, e.mean_abs);
    EXPECT_LE(e.max_abs, 0.03);
    EXPECT_LE(e.mean_abs, 0.002);
}

TEST(VideoParity, MemorySourceGivesTheSameFrames) {
    auto bytes = test::read_bytes(video_path());
    auto a     = media::load_video(std::span<const uint8_t>(bytes));
    auto b     = media::load_video(video_path());
    ASSERT_TRUE(a) << a.status().to_string();
    ASSERT_TRUE(b);
    ASSERT_EQ(a->frames.size(), b->frames.size());
    for (size_t i = 0; i < a->frames.size(); ++i) EXPECT_EQ(a->frames[i].image.rgb, b->frames[i].image.rgb);
}

} // namespace
