// Malformed video input (label fault): each a clear error naming the file, no crash.
#include "video_clips.h"

using namespace glmv;
using test::Clips;

namespace {

TEST_F(Clips, BadInputGivesClearErrors) {
    struct Case {
        std::string name;
        ErrorCode   code;
        const char* part;
    };
    std::vector<Case> cases;
    // no video stream
    if (have_["audio"]) cases.push_back({"audio.m4a", ErrorCode::bad_format, "no video stream"});
    // empty file
    test::TempDir tmp("glmv-video-fault");
    auto          at = [&](const std::string& n) { return n == "audio.m4a" ? file(n) : tmp.file(n); };
    test::write_bytes(tmp.file("empty.mp4"), {});
    cases.push_back({"empty.mp4", ErrorCode::bad_format, ""});
    // truncated MP4 (moov at the end is lost)
    if (have_["mp4"]) {
        auto b = test::read_bytes(file("h264.mp4"));
        b.resize(b.size() / 2);
        test::write_bytes(tmp.file("truncated.mp4"), b);
        cases.push_back({"truncated.mp4", ErrorCode::bad_format, ""});
    }
    // random bytes with a video extension
    std::vector<uint8_t> junk(20000);
    uint32_t             s = 7;
    for (auto& x : junk) x = uint8_t((s = s * 1664525u + 1013904223u) >> 24);
    test::write_bytes(tmp.file("junk.mkv"), junk);
    cases.push_back({"junk.mkv", ErrorCode::bad_format, ""});
    cases.push_back({"missing.mp4", ErrorCode::not_found, "not found"});
    for (auto& c : cases) {
        auto v = media::load_video(at(c.name));
        ASSERT_FALSE(v) << c.name << " decoded";
        EXPECT_EQ(v.status().code(), c.code) << c.name << ": " << v.status().to_string();
        EXPECT_NE(v.status().message().find(c.part), std::string::npos) << v.status().message();
        EXPECT_NE(v.status().message().find(c.name), std::string::npos) << "message names the file";
    }
}

TEST_F(Clips, TruncatedTailStillGivesFramesOrAClearError) {
    if (!have_["mkv"]) GTEST_SKIP();
    // Matroska keeps its header in front: a cut file opens, and frames past the cut are an error or the last one.
    auto b = test::read_bytes(file("ffv1.mkv"));
    b.resize(b.size() * 2 / 3);
    auto v = media::load_video(std::span<const uint8_t>(b));
    if (v)
        for (auto& f : v->frames) EXPECT_EQ(f.image.rgb.size(), size_t(96 * 64 * 3));
    else
        EXPECT_FALSE(v.status().message().empty());
}

} // namespace
