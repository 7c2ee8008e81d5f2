// Image decoding: every supported format from real files made at test time with the ffmpeg tool, PIL-style colour
// conversion, EXIF orientation 1–8, and the malformed-input cases of reliability.md §10.3 (each a clear error,
// no crash, no large allocation).
#include <chrono>
#include <cstring>

#include "glmv/media/image.h"
#include "media_test_util.h"

using namespace glmv;

namespace {

std::string fixture(const std::string& name) { return test::tiny_dir() + "/images/" + name; }


double mean_abs_diff(const media::Image& a, const media::Image& b) {
    if (a.rgb.size() != b.rgb.size() || a.rgb.empty()) return 1e9;
    double s = 0;
    for (size_t i = 0; i < a.rgb.size(); ++i) s += std::abs(int(a.rgb[i]) - int(b.rgb[i]));
    return s / double(a.rgb.size());
}

class Converted : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new test::TempDir("glmv-img");
        // Each format written by FFmpeg's encoders from the same smooth test picture (lossy codecs on the noisy
        // fixtures would make the "close" tolerances meaningless).
        const std::string in = dir_->file("src.png");
        test::sh("ffmpeg -v error -y -f lavfi -i testsrc2=s=160x96 -frames:v 1 " + in);
        test::sh("ffmpeg -v error -y -i " + in + " -q:v 2 " + dir_->file("a.jpg"));
        test::sh("ffmpeg -v error -y -i " + in + " -c:v libwebp -lossless 1 -pix_fmt bgra " + dir_->file("a.webp"));
        test::sh("ffmpeg -v error -y -i " + in + " -c:v libwebp -quality 90 " + dir_->file("lossy.webp"));
        test::sh("ffmpeg -v error -y -i " + in + " " + dir_->file("a.bmp"));
        test::sh("ffmpeg -v error -y -i " + in + " " + dir_->file("a.tiff"));
        test::sh("ffmpeg -v error -y -i " + in + " -pix_fmt gray " + dir_->file("gray.png"));
        test::sh("ffmpeg -v error -y -i " + in + " -pix_fmt gray " + dir_->file("gray.tiff"));
        test::sh("ffmpeg -v error -y -i " + in + " -pix_fmt ya8 " + dir_->file("gray_alpha.png"));
        test::sh("ffmpeg -v error -y -i " + in + " " + dir_->file("a.gif"));
        test::sh("ffmpeg -v error -y -i " + fixture("rgba.png") + " -pix_fmt bgra " + dir_->file("rgba.bmp"));
        test::sh("ffmpeg -v error -y -i " + in + " -pix_fmt rgb48be " + dir_->file("deep.png"));
        test::sh("ffmpeg -v error -y -i " + in + " -pix_fmt pal8 " + dir_->file("pal.png"));
    }
    static void TearDownTestSuite() { delete dir_; }
    // The reference decode: libpng on the source PNG (lossless, identical to PIL).
    static const media::Image& src_png() {
        static media::Image img = [] {
            auto r = media::load_image(dir_->file("src.png"));
            return r ? std::move(r.value()) : media::Image{};
        }();
        return img;
    }
    static test::TempDir* dir_;
};
test::TempDir* Converted::dir_ = nullptr;

TEST_F(Converted, LosslessFormatsDecodeExactly) {
    ASSERT_GT(src_png().width, 0);
    for (const char* f : {"a.webp", "a.bmp", "a.tiff"}) {
        auto img = media::load_image(dir_->file(f));
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
        auto img = media::load_image(dir_->file(c.file));
        ASSERT_TRUE(img) << c.file << ": " << img.status().to_string();
        EXPECT_EQ(img->width, 160);
        EXPECT_EQ(img->height, 96);
        EXPECT_LT(mean_abs_diff(*img, src_png()), c.max_mean_diff) << c.file;
    }
}

TEST_F(Converted, GrayAndAlphaConvertLikePil) {
    // Grey is replicated into R, G and B (and a grey+alpha PNG keeps its grey).
    auto gray = media::load_image(dir_->file("gray.png"));
    ASSERT_TRUE(gray) << gray.status().to_string();
    for (size_t i = 0; i < gray->rgb.size(); i += 3) {
        ASSERT_EQ(gray->rgb[i], gray->rgb[i + 1]);
        ASSERT_EQ(gray->rgb[i], gray->rgb[i + 2]);
    }
    for (const char* f : {"gray.tiff", "gray_alpha.png"}) {
        auto other = media::load_image(dir_->file(f));
        ASSERT_TRUE(other) << f << ": " << other.status().to_string();
        EXPECT_EQ(other->rgb, gray->rgb) << f;
    }
    // Alpha is dropped, not composited: the RGB channels of the RGBA fixture survive unchanged in every container.
    auto png = media::load_image(fixture("rgba.png"));
    ASSERT_TRUE(png);
    // (Not WebP: its lossless encoder rewrites the colour of fully transparent pixels unless told -exact.)
    for (const char* f : {"rgba.bmp"}) {
        auto img = media::load_image(dir_->file(f));
        ASSERT_TRUE(img) << f << ": " << img.status().to_string();
        EXPECT_EQ(img->rgb, png->rgb) << f;
    }
    auto g = media::load_image(fixture("gray.png"));
    ASSERT_TRUE(g);
    EXPECT_EQ(g->rgb[0], g->rgb[1]);
}

TEST_F(Converted, FormatComesFromBytesNotExtension) {
    // A PNG saved as .jpg decodes; a text file saved as .png is refused.
    auto bytes = test::read_bytes(dir_->file("src.png"));
    test::write_bytes(dir_->file("really_png.jpg"), bytes);
    auto img = media::load_image(dir_->file("really_png.jpg"));
    ASSERT_TRUE(img) << img.status().to_string();
    EXPECT_EQ(img->rgb, src_png().rgb);
    test::write_bytes(dir_->file("notes.png"), {'h', 'e', 'l', 'l', 'o', '\n'});
    auto bad = media::load_image(dir_->file("notes.png"));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.status().code(), ErrorCode::bad_format);
    EXPECT_NE(bad.status().message().find("not a recognised image"), std::string::npos) << bad.status().message();
    EXPECT_EQ(media::sniff_image_format(bytes), media::ImageFormat::png);
}

TEST_F(Converted, AnimationsGiveTheirFirstFrame) {
    // Frame n is a flat grey of luma 16 + 60·n: the first frame is the darkest.
    const std::string src = "-f lavfi -i \"nullsrc=s=48x32:r=5:d=1,geq=lum='16+60*N':cb=128:cr=128\" ";
    const bool gif  = test::sh("ffmpeg -v error -y " + src + dir_->file("anim.gif"));
    const bool webp = test::sh("ffmpeg -v error -y " + src + "-c:v libwebp_anim -lossless 1 -loop 0 " +
                               dir_->file("anim.webp"));
    for (auto [ok, f] : {std::pair{gif, "anim.gif"}, std::pair{webp, "anim.webp"}}) {
        if (!ok) continue;
        auto img = media::load_image(dir_->file(f));
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
    const std::string src = dir_->file("quad.jpg");
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

// ---------------------------------------------------------------------------------------------------------------
// Malformed input (label fault): one case per malformation, each a clear error.

uint32_t crc32(const uint8_t* p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

// A PNG signature + a valid IHDR claiming w×h, then an empty IDAT and IEND: a few dozen bytes.
std::vector<uint8_t> png_header_only(uint32_t w, uint32_t h) {
    std::vector<uint8_t> b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    auto chunk = [&](const char* type, std::vector<uint8_t> data) {
        uint32_t n = uint32_t(data.size());
        for (int i = 3; i >= 0; --i) b.push_back(uint8_t(n >> (8 * i)));
        std::vector<uint8_t> td(type, type + 4);
        td.insert(td.end(), data.begin(), data.end());
        b.insert(b.end(), td.begin(), td.end());
        uint32_t c = crc32(td.data(), td.size());
        for (int i = 3; i >= 0; --i) b.push_back(uint8_t(c >> (8 * i)));
    };
    std::vector<uint8_t> ihdr;
    for (uint32_t v : {w, h})
        for (int i = 3; i >= 0; --i) ihdr.push_back(uint8_t(v >> (8 * i)));
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0}); // 8-bit RGB
    chunk("IHDR", ihdr);
    chunk("IDAT", {});
    chunk("IEND", {});
    return b;
}

enum class Malformed { empty, one_byte, truncated_png, truncated_jpeg, truncated_webp, truncated_gif, truncated_tiff,
                       truncated_bmp, png_30000_square, png_65535_square, png_zero_width, random_bytes, heic, pdf };

struct MalformedCase {
    Malformed   kind;
    ErrorCode   code;
    const char* message_part;
};

class MalformedImage : public Converted, public ::testing::WithParamInterface<MalformedCase> {};

std::vector<uint8_t> make_case(Malformed kind, const std::string& dir) {
    auto half = [&](const std::string& f) {
        auto b = test::read_bytes(dir + "/" + f);
        b.resize(b.size() / 2);
        return b;
    };
    switch (kind) {
    case Malformed::empty: return {};
    case Malformed::one_byte: return {0x89};
    case Malformed::truncated_png: {
        auto b = test::read_bytes(fixture("medium.png"));
        b.resize(b.size() / 2);
        return b;
    }
    case Malformed::truncated_jpeg: return half("a.jpg");
    case Malformed::truncated_webp: return half("a.webp");
    case Malformed::truncated_gif: return half("a.gif");
    case Malformed::truncated_tiff: return half("a.tiff");
    case Malformed::truncated_bmp: return half("a.bmp");
    case Malformed::png_30000_square: return png_header_only(30000, 30000);
    case Malformed::png_65535_square: return png_header_only(65535, 65535);
    case Malformed::png_zero_width: return png_header_only(0, 100);
    case Malformed::random_bytes: {
        std::vector<uint8_t> b(4096);
        uint32_t             s = 12345;
        for (auto& x : b) x = uint8_t((s = s * 1103515245u + 12345u) >> 16);
        return b;
    }
    case Malformed::heic: {
        std::vector<uint8_t> b = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c'};
        b.resize(64, 0);
        return b;
    }
    case Malformed::pdf: {
        std::string s = "%PDF-1.4\n%...";
        return std::vector<uint8_t>(s.begin(), s.end());
    }
    }
    return {};
}

TEST_P(MalformedImage, ClearErrorNoCrash) {
    const MalformedCase& c     = GetParam();
    auto                 bytes = make_case(c.kind, dir_->path());
    const auto           t0    = std::chrono::steady_clock::now();
    auto                 r     = media::decode_image(bytes);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_FALSE(r) << "decoded a malformed file";
    EXPECT_EQ(r.status().code(), c.code) << r.status().to_string();
    EXPECT_NE(r.status().message().find(c.message_part), std::string::npos) << r.status().message();
    EXPECT_LT(ms, 1000.0); // rejected cheaply: nothing of the declared size was allocated or decoded
}

INSTANTIATE_TEST_SUITE_P(
    Corpus, MalformedImage,
    ::testing::Values(MalformedCase{Malformed::empty, ErrorCode::bad_format, "empty"},
                      MalformedCase{Malformed::one_byte, ErrorCode::bad_format, "not a recognised image"},
                      MalformedCase{Malformed::truncated_png, ErrorCode::bad_format, "png:"},
                      MalformedCase{Malformed::truncated_jpeg, ErrorCode::bad_format, "truncated"},
                      MalformedCase{Malformed::truncated_webp, ErrorCode::bad_format, "webp:"},
                      MalformedCase{Malformed::truncated_gif, ErrorCode::bad_format, "truncated"},
                      MalformedCase{Malformed::truncated_tiff, ErrorCode::bad_format, "tiff:"},
                      MalformedCase{Malformed::truncated_bmp, ErrorCode::bad_format, "bmp"},
                      MalformedCase{Malformed::png_30000_square, ErrorCode::out_of_range, "30000x30000"},
                      MalformedCase{Malformed::png_65535_square, ErrorCode::out_of_range, "65535x65535"},
                      MalformedCase{Malformed::png_zero_width, ErrorCode::bad_format, "empty image"},
                      MalformedCase{Malformed::random_bytes, ErrorCode::bad_format, "not a recognised image"},
                      MalformedCase{Malformed::heic, ErrorCode::unsupported, "HEIC"},
                      MalformedCase{Malformed::pdf, ErrorCode::bad_format, "PDF"}));

TEST(ImageLimits, CapAtMinusOneAtAndPlusOne) {
    // The pixel cap applies before allocation: cap−1 and cap pass the check, cap+1 is refused.
    media::ImageDecodeParams p;
    p.max_pixels = 1000;
    auto at = [&](int w, int h) { return media::decode_image(png_header_only(w, h), p); };
    EXPECT_NE(at(999, 1).status().code(), ErrorCode::out_of_range);  // passes the cap, then fails on empty IDAT
    EXPECT_NE(at(1000, 1).status().code(), ErrorCode::out_of_range);
    EXPECT_EQ(at(1001, 1).status().code(), ErrorCode::out_of_range);
    p.max_side_px = 100;
    EXPECT_EQ(at(101, 1).status().code(), ErrorCode::out_of_range);
}

TEST(ImageFiles, MissingFileAndDirectory) {
    auto r = media::load_image("/nonexistent/x.png");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.status().code(), ErrorCode::not_found);
    auto d = media::load_image("/tmp");
    ASSERT_FALSE(d);
}

} // namespace
