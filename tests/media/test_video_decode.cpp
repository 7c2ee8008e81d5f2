// Video decoding from real clips encoded at test time with the ffmpeg tool (several codecs and containers), the HF
// sampler on synthetic metadata, rotation, cancellation. Malformed input: test_video_fault.cpp.
#include <atomic>

#include "video_clips.h"

using namespace glmv;
using test::Clips;
using test::identify;

namespace {

struct CodecCase {
    const char* key;
    const char* file;
    const char* codec;
};

class CodecClips : public Clips, public ::testing::WithParamInterface<CodecCase> {};

TEST_P(CodecClips, ProbeSampleAndDecodeTheRightFrames) {
    const CodecCase& c = GetParam();
    if (!have_[c.key]) GTEST_SKIP() << "this ffmpeg cannot encode " << c.file;
    auto v = media::load_video(file(c.file));
    ASSERT_TRUE(v) << v.status().to_string();
    EXPECT_EQ(v->info.codec, c.codec);
    EXPECT_DOUBLE_EQ(v->info.fps, 25.0);
    EXPECT_NEAR(v->info.duration_s, 4.0, 0.05);
    EXPECT_NEAR(double(v->info.n_frames), 100.0, 1.0);
    EXPECT_EQ(v->info.width, 96);
    EXPECT_EQ(v->info.height, 64);
    // 4 s at 2 fps: ceil(i·25/2).
    EXPECT_EQ(v->indices, (std::vector<int64_t>{0, 13, 25, 38, 50, 63, 75, 88}));
    ASSERT_EQ(v->frames.size(), v->indices.size());
    for (size_t i = 0; i < v->frames.size(); ++i) {
        EXPECT_EQ(v->frames[i].image.width, 96);
        EXPECT_EQ(identify(v->frames[i].image, 100), v->indices[i]) << c.file << " sample " << i;
        EXPECT_DOUBLE_EQ(v->frames[i].timestamp_s, double(v->indices[i]) / 25.0);
    }
}

INSTANTIATE_TEST_SUITE_P(Containers, CodecClips,
                         ::testing::Values(CodecCase{"mp4", "h264.mp4", "h264"}, CodecCase{"webm", "vp9.webm", "vp9"},
                                           CodecCase{"mkv", "ffv1.mkv", "ffv1"},
                                           CodecCase{"avi", "mpeg4.avi", "mpeg4"}));

TEST_F(Clips, SeekingPicksExactFramesAcrossKeyFrames) {
    if (!have_["long"]) GTEST_SKIP();
    auto info = media::probe_video(file("long.mp4"));
    ASSERT_TRUE(info) << info.status().to_string();
    EXPECT_EQ(info->n_frames, 1000);
    // Arbitrary ascending indices, including ones that need a backward jump inside a run and far jumps.
    std::vector<int64_t> idx = {0, 1, 49, 50, 51, 99, 100, 420, 421, 777, 998, 999};
    for (int threads : {1, 2}) {
        media::VideoDecodeParams p;
        p.n_threads = threads;
        auto frames = media::decode_video_frames(file("long.mp4"), idx, p);
        ASSERT_TRUE(frames) << frames.status().to_string();
        for (size_t i = 0; i < idx.size(); ++i)
            EXPECT_EQ(identify((*frames)[i].image, 220), idx[i] % 220) << "index " << idx[i] << " threads " << threads;
    }
    // The full sampler over 40 s: 80 frames, all identified.
    auto v = media::load_video(file("long.mp4"));
    ASSERT_TRUE(v);
    ASSERT_EQ(v->frames.size(), 80u);
    for (size_t i = 0; i < v->frames.size(); ++i) EXPECT_EQ(identify(v->frames[i].image, 220), v->indices[i] % 220);
}

TEST_F(Clips, RotationMetadataIsApplied) {
    if (!have_["rot"]) GTEST_SKIP();
    auto v = media::load_video(file("rot.mp4"));
    ASSERT_TRUE(v) << v.status().to_string();
    // As ffmpeg's own autorotate shows it: 48×64, the bright (left) half now at the bottom.
    EXPECT_EQ(v->info.rotation_deg, 270);
    EXPECT_EQ(v->info.width, 48);
    EXPECT_EQ(v->info.height, 64);
    const auto& img = v->frames[0].image;
    ASSERT_EQ(img.width, 48);
    ASSERT_EQ(img.height, 64);
    EXPECT_LT(img.rgb[(2 * 48 + 24) * 3], 80);  // top
    EXPECT_GT(img.rgb[(60 * 48 + 24) * 3], 180); // bottom
}

TEST_F(Clips, EarlyDownscaleKeepsAspect) {
    if (!have_["mkv"]) GTEST_SKIP();
    media::VideoDecodeParams p;
    p.max_frame_pixels = 96 * 64 / 4;
    auto v = media::load_video(file("ffv1.mkv"), {}, p);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->frames[0].image.width, 48);
    EXPECT_EQ(v->frames[0].image.height, 32);
}

TEST_F(Clips, CancellationStopsWork) {
    std::atomic<bool> cancel{true};
    media::VideoDecodeParams p;
    p.cancel = &cancel;
    auto v   = media::load_video(file("ffv1.mkv"), {}, p);
    ASSERT_FALSE(v);
    EXPECT_EQ(v.status().code(), ErrorCode::cancelled) << v.status().to_string();
}

// ---------------------------------------------------------------------------------------------------------------
// The sampler alone, against values computed by hand from the HF algorithm.

TEST(Sampler, ShortVideos) {
    EXPECT_EQ(media::sample_frame_indices(30, 10.0, 3.0), (std::vector<int64_t>{0, 5, 10, 15, 20, 25}));
    // 29.97 fps, 2.5 s: n = 5 → ceil(i·14.985) = 0,15,30,45,60 → odd, last repeated.
    EXPECT_EQ(media::sample_frame_indices(75, 29.97, 2.5), (std::vector<int64_t>{0, 15, 30, 45, 60, 60}));
    // Under half a second: one frame, padded to two.
    EXPECT_EQ(media::sample_frame_indices(3, 10.0, 0.3), (std::vector<int64_t>{0, 0}));
    // 1 fps source, 5 s: ceil(i/2) = 0,1,1,2,2,3,3,4,4,5 → min(last = 4) and de-dup → 0..4 → pad.
    EXPECT_EQ(media::sample_frame_indices(5, 1.0, 5.0), (std::vector<int64_t>{0, 1, 2, 3, 4, 4}));
    // Unknown duration: round((frames − 1)/fps) + 1 = round(4.9) + 1 = 6 s → 12 samples.
    EXPECT_EQ(media::sample_frame_indices(50, 10.0, 0.0).size(), 12u);
    EXPECT_TRUE(media::sample_frame_indices(0, 10.0, 3.0).empty());
    EXPECT_TRUE(media::sample_frame_indices(10, 0.0, 3.0).empty());
}

TEST(Sampler, LongVideosAreSampledUniformly) {
    // 10 minutes at 30 fps: 600 targets over linspace(0, 600, 600) → ceil(t·30), last clamped to 17999.
    auto idx = media::sample_frame_indices(18000, 30.0, 600.0);
    ASSERT_EQ(idx.size(), 600u);
    EXPECT_EQ(idx[0], 0);
    EXPECT_EQ(idx[1], int64_t(std::ceil(600.0 / 599.0 * 30.0)));
    EXPECT_EQ(idx.back(), 17999);
    EXPECT_TRUE(std::is_sorted(idx.begin(), idx.end()));
    // Exactly 300 s stays on the 2 fps branch.
    EXPECT_EQ(media::sample_frame_indices(9000, 30.0, 300.0).size(), 600u);
    // A long video with few frames keeps them all (then pads to even).
    EXPECT_EQ(media::sample_frame_indices(301, 0.5, 602.0).size(), 302u);
}

} // namespace
