// Shared by the video tests: clips encoded with the ffmpeg tool (once per build tree) and frame identification.
//
// Frame identity: the clips are made with geq so that frame n is a flat grey of luma 16 + (37·n mod 220); every
// decoded frame's grey level therefore names the frame it came from, whatever the codec's small losses.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "glmv/media/video.h"
#include "media_test_util.h"

namespace glmv::test {


// Expected RGB grey of frame n after limited-range YUV → RGB.
double expected_grey(int64_t n) { return std::clamp((16.0 + double((37 * n) % 220) - 16.0) * 255.0 / 219.0, 0.0, 255.0); }

// The frame number whose grey is nearest to the image's mean (over the first `n_frames` frames).
int64_t identify(const media::Image& img, int64_t n_frames) {
    double sum = 0;
    for (uint8_t v : img.rgb) sum += v;
    double  mean = sum / double(img.rgb.size());
    int64_t best = -1;
    double  dist = 1e9;
    for (int64_t n = 0; n < n_frames; ++n)
        if (std::fabs(expected_grey(n) - mean) < dist) dist = std::fabs(expected_grey(n) - mean), best = n;
    return best;
}

std::string counter_source(int w, int h, int fps, int seconds) {
    return "-f lavfi -i \"nullsrc=s=" + std::to_string(w) + "x" + std::to_string(h) + ":r=" + std::to_string(fps) +
           ":d=" + std::to_string(seconds) + ",geq=lum='16+mod(N*37\\,220)':cb=128:cr=128,format=yuv420p\"";
}

class Clips : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = test::cached_dir("video-clips-v1", [](const std::string& d) { make(d); });
        for (auto [key, name] : {std::pair{"mp4", "h264.mp4"}, {"webm", "vp9.webm"}, {"mkv", "ffv1.mkv"},
                                 {"avi", "mpeg4.avi"}, {"long", "long.mp4"}, {"rot", "rot.mp4"},
                                 {"audio", "audio.m4a"}})
            have_[key] = std::filesystem::exists(file(name));
    }
    static std::string file(const std::string& name) { return dir_ + "/" + name; }
    // Encodes every clip once per build tree (see test::cached_dir).
    static void make(const std::string& dir) {
        auto enc = [&](const std::string& args, const std::string& out) {
            return test::sh("ffmpeg -v error -y " + args + " " + dir + "/" + out);
        };
        const std::string src = counter_source(96, 64, 25, 4);
        enc(src + " -c:v libx264 -g 12 -bf 2", "h264.mp4");
        enc(src + " -c:v libvpx-vp9 -g 12 -deadline realtime -b:v 1M", "vp9.webm");
        enc(src + " -c:v ffv1", "ffv1.mkv");
        enc(src + " -c:v mpeg4 -q:v 2 -g 12", "mpeg4.avi");
        // A longer clip with sparse key frames, to exercise seeking (40 s at 25 fps, key frame every 2 s).
        enc(counter_source(64, 48, 25, 40) + " -c:v libx264 -g 50 -bf 2", "long.mp4");
        // Rotation: left half bright; the display matrix says rotate (set with -metadata rotate on a stream copy).
        enc("-f lavfi -i \"nullsrc=s=64x48:r=10:d=1,geq=lum='if(lt(X\\,W/2)\\,200\\,50)':cb=128:cr=128,"
                           "format=yuv420p\" -c:v libx264",
                           "plain.mp4") &&
                       test::sh("ffmpeg -v error -y -i " + dir + "/plain.mp4" +
                                " -c copy -metadata:s:v:0 rotate=90 " + dir + "/rot.mp4");
        enc("-f lavfi -i sine=d=1 -c:a aac", "audio.m4a");
    }
    static inline std::string                 dir_;
    static inline std::map<std::string, bool> have_;
};

} // namespace glmv::test
