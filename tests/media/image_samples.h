// Shared by the image tests: sample files written by the ffmpeg tool (once per build tree).
#pragma once

#include "glmv/media/image.h"
#include "media_test_util.h"

namespace glmv::test {

inline std::string fixture(const std::string& name) { return test::tiny_dir() + "/images/" + name; }


inline double mean_abs_diff(const media::Image& a, const media::Image& b) {
    if (a.rgb.size() != b.rgb.size() || a.rgb.empty()) return 1e9;
    double s = 0;
    for (size_t i = 0; i < a.rgb.size(); ++i) s += std::abs(int(a.rgb[i]) - int(b.rgb[i]));
    return s / double(a.rgb.size());
}

class Converted : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { dir_ = test::cached_dir("images-v1", [](const std::string& d) { make(d); }); }
    static std::string file(const std::string& name) { return dir_ + "/" + name; }
    // Writes every sample once per build tree (see test::cached_dir).
    static void make(const std::string& dir) {
        auto out = [&](const std::string& name) { return dir + "/" + name; };
        // Each format written by FFmpeg's encoders from the same smooth test picture (lossy codecs on the noisy
        // fixtures would make the "close" tolerances meaningless).
        const std::string in = out("src.png");
        test::sh("ffmpeg -v error -y -f lavfi -i testsrc2=s=160x96 -frames:v 1 " + in);
        test::sh("ffmpeg -v error -y -i " + in + " -q:v 2 " + out("a.jpg"));
        test::sh("ffmpeg -v error -y -i " + in + " -c:v libwebp -lossless 1 -pix_fmt bgra " + out("a.webp"));
        test::sh("ffmpeg -v error -y -i " + in + " -c:v libwebp -quality 90 " + out("lossy.webp"));
        test::sh("ffmpeg -v error -y -i " + in + " " + out("a.bmp"));
        test::sh("ffmpeg -v error -y -i " + in + " " + out("a.tiff"));
        test::sh("ffmpeg -v error -y -i " + in + " -pix_fmt gray " + out("gray.png"));
        test::sh("ffmpeg -v error -y -i " + in + " -pix_fmt gray " + out("gray.tiff"));
        test::sh("ffmpeg -v error -y -i " + in + " -pix_fmt ya8 " + out("gray_alpha.png"));
        test::sh("ffmpeg -v error -y -i " + in + " " + out("a.gif"));
        test::sh("ffmpeg -v error -y -i " + fixture("rgba.png") + " -pix_fmt bgra " + out("rgba.bmp"));
        test::sh("ffmpeg -v error -y -i " + in + " -pix_fmt rgb48be " + out("deep.png"));
        test::sh("ffmpeg -v error -y -i " + in + " -pix_fmt pal8 " + out("pal.png"));
    }
    // The reference decode: libpng on the source PNG (lossless, identical to PIL).
    static const media::Image& src_png() {
        static media::Image img = [] {
            auto r = media::load_image(file("src.png"));
            return r ? std::move(r.value()) : media::Image{};
        }();
        return img;
    }
    static inline std::string dir_;
};

} // namespace glmv::test
