// EXIF orientation: parsing tag 0x0112 from an APP1 payload, and applying it like PIL's exif_transpose.
#include <cstring>

#include "image_decoders.h"

namespace glmv::media {

namespace detail {

int exif_orientation(std::span<const uint8_t> p) {
    // "Exif\0\0" then a TIFF header: byte order, 42, offset of IFD0. Everything is bounds-checked against p.
    if (p.size() < 14 || std::memcmp(p.data(), "Exif\0\0", 6) != 0) return 1;
    const uint8_t* t    = p.data() + 6;
    const size_t   n    = p.size() - 6;
    bool           le   = t[0] == 'I' && t[1] == 'I';
    bool           be   = t[0] == 'M' && t[1] == 'M';
    if (!le && !be) return 1;
    auto u16 = [&](size_t at) -> uint32_t { return le ? t[at] | (t[at + 1] << 8) : (t[at] << 8) | t[at + 1]; };
    auto u32 = [&](size_t at) -> uint32_t {
        return le ? uint32_t(t[at]) | uint32_t(t[at + 1]) << 8 | uint32_t(t[at + 2]) << 16 | uint32_t(t[at + 3]) << 24
                  : uint32_t(t[at]) << 24 | uint32_t(t[at + 1]) << 16 | uint32_t(t[at + 2]) << 8 | uint32_t(t[at + 3]);
    };
    if (u16(2) != 42) return 1;
    uint64_t ifd = u32(4);
    if (ifd + 2 > n) return 1;
    uint32_t count = u16(size_t(ifd));
    for (uint32_t i = 0; i < count; ++i) {
        uint64_t e = ifd + 2 + uint64_t(i) * 12;
        if (e + 12 > n) return 1;
        if (u16(size_t(e)) == 0x0112) {
            // SHORT, count 1: the value sits in the first two bytes of the value field.
            if (u16(size_t(e + 2)) != 3) return 1;
            uint32_t v = u16(size_t(e + 8));
            return (v >= 1 && v <= 8) ? int(v) : 1;
        }
    }
    return 1;
}

} // namespace detail

void apply_orientation(Image& img, int o) {
    if (o < 2 || o > 8 || img.width <= 0 || img.height <= 0) return;
    const int  W = img.width, H = img.height;
    const bool swap = o >= 5; // transpose, rotate 90/270, transverse swap the axes
    const int  OW = swap ? H : W, OH = swap ? W : H;
    std::vector<uint8_t> out(img.rgb.size());
    for (int y = 0; y < OH; ++y)
        for (int x = 0; x < OW; ++x) {
            int sx = x, sy = y;
            switch (o) {
            case 2: sx = W - 1 - x; sy = y; break;          // mirror horizontal
            case 3: sx = W - 1 - x; sy = H - 1 - y; break;  // rotate 180
            case 4: sx = x; sy = H - 1 - y; break;          // mirror vertical
            case 5: sx = y; sy = x; break;                  // transpose
            case 6: sx = y; sy = H - 1 - x; break;          // rotate 90° clockwise to display
            case 7: sx = W - 1 - y; sy = H - 1 - x; break;  // transverse
            case 8: sx = W - 1 - y; sy = x; break;          // rotate 90° counter-clockwise to display
            }
            const uint8_t* s = &img.rgb[(size_t(sy) * W + sx) * 3];
            uint8_t*       d = &out[(size_t(y) * OW + x) * 3];
            d[0] = s[0], d[1] = s[1], d[2] = s[2];
        }
    img.rgb    = std::move(out);
    img.width  = OW;
    img.height = OH;
}

} // namespace glmv::media
