// Image decoding: every supported format from real files made at test time with the ffmpeg tool, PIL-style colour
// conversion, EXIF orientation 1–8, animations. Malformed input: test_image_fault.cpp.
#include <cstring>

#include "image_samples.h"

using namespace glmv;
using test::Converted;
using test::fixture;
using test::mean_abs_diff;

namespace {

TEST_F(Converted, LosslessFormatsDecodeExactly) {
    ASSERT_GT(src_png().width, 0);
    for (const char* f : {"a.webp", "a.bmp", "a.tiff"}) {
        auto img = media::load_image(file(f));
        ASSERT_TRUE(img) << f << ": " << img.status().to_string();
        EXPECT_EQ(img->width, 160) << f;
        EXPECT_EQ(img->height, 96) << f;
        EXPECT_EQ(img->rgb, src_png().rgb) << f;
    }
}

TEST_F(Converted, LossyAndPaletteFormatsDecodeClosely) {
    struct Case {
        const char* file;
        double      max_mean_diff;
    } cases[] = {{"a.jpg", 4.0}, {"lossy.webp", 6.0}, {"a.gif", 12.0}, {"pal.png", 12.0}, {"deep.png", 1.0}};
    for (auto& c : cases) {
        auto img = media::load_image(file(c.file));
        ASSERT_TRUE(img) << c.file << ": " << img.status().to_string();
        EXPECT_EQ(img->width, 160);
        EXPECT_EQ(img->height, 96);
        EXPECT_LT(mean_abs_diff(*img, src_png()), c.max_mean_diff) << c.file;
    }
}

TEST_F(Converted, GrayAndAlphaConvertLikePil) {
    // Grey is replicated into R, G and B (and a grey+alpha PNG keeps its grey).
    auto gray = media::load_image(file("gray.png"));
    ASSERT_TRUE(gray) << gray.status().to_string();
    for (size_t i = 0; i < gray->rgb.size(); i += 3) {
        ASSERT_EQ(gray->rgb[i], gray->rgb[i + 1]);
        ASSERT_EQ(gray->rgb[i], gray->rgb[i + 2]);
    }
    for (const char* f : {"gray.tiff", "gray_alpha.png"}) {
        auto other = media::load_image(file(f));
        ASSERT_TRUE(other) << f << ": " << other.status().to_string();
        EXPECT_EQ(other->rgb, gray->rgb) << f;
    }
    // Alpha is dropped, not composited: the RGB channels of the RGBA fixture survive unchanged in every container.
    auto png = media::load_image(fixture("rgba.png"));
    ASSERT_TRUE(png);
    // (Not WebP: its lossless encoder rewrites the colour of fully transparent pixels unless told -exact.)
    for (const char* f : {"rgba.bmp"}) {
        auto img = media::load_image(file(f));
        ASSERT_TRUE(img) << f << ": " << img.status().to_string();
        EXPECT_EQ(img->rgb, png->rgb) << f;
    }
    auto g = media::load_image(fixture("gray.png"));
    ASSERT_TRUE(g);
    EXPECT_EQ(g->rgb[0], g->rgb[1]);
}

TEST_F(Converted, FormatComesFromBytesNotExtension) {
    // A PNG saved as .jpg decodes; a text file saved as .png is refused.
    auto bytes = test::read_bytes(file("src.png"));
    test::TempDir tmp("glmv-img");
    test::write_bytes(tmp.file("really_png.jpg"), bytes);
    auto img = media::load_image(tmp.file("really_png.jpg"));
    ASSERT_TRUE(img) << img.status().to_string();
    EXPECT_EQ(img->rgb, src_png().rgb);
    test::write_bytes(tmp.file("notes.png"), {'h', 'e', 'l', 'l', 'o', '\n'});
    auto bad = media::load_image(tmp.file("notes.png"));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.status().code(), ErrorCode::bad_format);
    EXPECT_NE(bad.status().message().find("not a recognised image"), std::string::npos) << bad.status().message();
    EXPECT_EQ(media::sniff_image_format(bytes), media::ImageFormat::png);
}

TEST_F(Converted, AnimationsGiveTheirFirstFrame) {
    // Frame n is a flat grey of luma 16 + 60·n: the first frame is the darkest.
    const std::string src = "-f lavfi -i \"nullsrc=s=48x32:r=5:d=1,geq=lum='16+60*N':cb=128:cr=128\" ";
    test::TempDir tmp("glmv-img");
    const bool    gif  = test::sh("ffmpeg -v error -y " + src + tmp.file("anim.gif"));
    const bool    webp = test::sh("ffmpeg -v error -y " + src + "-c:v libwebp_anim -lossless 1 -loop 0 " +
                                  tmp.file("anim.webp"));
    for (auto [ok, f] : {std::pair{gif, "anim.gif"}, std::pair{webp, "anim.webp"}}) {
        if (!ok) continue;
        auto img = media::load_image(tmp.file(f));
        ASSERT_TRUE(img) << f << ": " << img.status().to_string();
        EXPECT_EQ(img->width, 48);
        EXPECT_EQ(img->height, 32);
        double sum = 0;
        for (uint8_t v : img->rgb) sum += v;
        EXPECT_LT(sum / double(img->rgb.size()), 20.0) << f << " is not the first frame";
    }
}

// An APP1 segment carrying EXIF orientation `o`, big- or little-endian.
std::vector<uint8_t> exif_app1(int o, bool little) {
    std::vector<uint8_t> tiff = little ? std::vector<uint8_t>{'I', 'I', 42, 0, 8, 0, 0, 0}
                                       : std::vector<uint8_t>{'M', 'M', 0, 42, 0, 0, 0, 8};
    auto put16 = [&](int v) {
        if (little) tiff.push_back(uint8_t(v)), tiff.push_back(uint8_t(v >> 8));
        else tiff.push_back(uint8_t(v >> 8)), tiff.push_back(uint8_t(v));
    };
    auto put32 = [&](uint32_t v) {
        for (int i = 0; i < 4; ++i) tiff.push_back(uint8_t(little ? v >> (8 * i) : v >> (8 * (3 - i))));
    };
    put16(1);                             // one IFD entry
    put16(0x0112), put16(3), put32(1);    // Orientation, SHORT, count 1
    put16(o), put16(0);                   // value (left-justified)
    put32(0);                             // no next IFD
    std::vector<uint8_t> seg = {0xFF, 0xE1, 0, 0, 'E', 'x', 'i', 'f', 0, 0};
    seg.insert(seg.end(), tiff.begin(), tiff.end());
    size_t len = seg.size() - 2;
    seg[2]     = uint8_t(len >> 8);
    seg[3]     = uint8_t(len);
    return seg;
}

TEST_F(Converted, ExifOrientationAllEight) {
    // A 64×32 JPEG whose top-left quadrant is white and the rest black, written by ffmpeg.
    test::TempDir     tmp("glmv-img");
    const std::string src = tmp.file("quad.jpg");
    ASSERT_TRUE(test::sh("ffmpeg -v error -y -f lavfi -i \"color=black:s=64x32,geq=lum='if(lt(X\\,32)*lt(Y\\,16)\\,235\\,16)':cb=128:cr=128\" -frames:v 1 -q:v 1 " + src));
    auto base = test::read_bytes(src);
    ASSERT_GT(base.size(), 4u);
    // Where the white quadrant lands (as x, y fractions) after each orientation, as PIL's exif_transpose gives it.
    const double where[9][2] = {{0, 0},     {0.25, 0.25}, {0.75, 0.25}, {0.75, 0.75}, {0.25, 0.75},
                                {0.25, 0.25}, {0.75, 0.25}, {0.75, 0.75}, {0.25, 0.75}};
    for (int o = 1; o <= 8; ++o)
        for (bool little : {true, false}) {
            std::vector<uint8_t> jpg = {0xFF, 0xD8};
            auto                 seg = exif_app1(o, little);
            jpg.insert(jpg.end(), seg.begin(), seg.end());
            jpg.insert(jpg.end(), base.begin() + 2, base.end());
            auto info = media::probe_image(jpg);
            ASSERT_TRUE(info);
            EXPECT_EQ(info->orientation, o);
            auto img = media::decode_image(jpg);
            ASSERT_TRUE(img) << img.status().to_string();
            const bool swapped = o >= 5;
            EXPECT_EQ(img->width, swapped ? 32 : 64) << "orientation " << o;
            EXPECT_EQ(img->height, swapped ? 64 : 32) << "orientation " << o;
            int x = int(where[o][0] * img->width), y = int(where[o][1] * img->height);
            EXPECT_GT(img->rgb[(size_t(y) * img->width + x) * 3], 200) << "orientation " << o;
            // The diagonally opposite quadrant stays black.
            int ox = img->width - 1 - x, oy = img->height - 1 - y;
            EXPECT_LT(img->rgb[(size_t(oy) * img->width + ox) * 3], 40) << "orientation " << o;
            media::ImageDecodeParams keep;
            keep.apply_exif_orientation = false;
            auto raw                    = media::decode_image(jpg, keep);
            ASSERT_TRUE(raw);
            EXPECT_EQ(raw->width, 64);
        }
}

} // namespace
