// Malformed images (label fault), the corpus of reliability.md §10.3: each a clear error, no crash, and rejected
// cheaply (nothing of the declared size is allocated).
#include <chrono>
#include <cstring>

#include "image_samples.h"

using namespace glmv;
using test::Converted;
using test::fixture;

namespace {

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
    auto                 bytes = make_case(c.kind, dir_);
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
