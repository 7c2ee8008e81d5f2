// GIF via giflib: only the first image is decoded (later frames are never read, so a 10,000-frame GIF costs no
// more than a still one). The frame is drawn onto the logical screen filled with the background colour.
#include <cstring>

#include <gif_lib.h>

#include "image_decoders.h"

namespace glmv::media::detail {

namespace {

struct GifSource {
    std::span<const uint8_t> bytes;
    size_t                   pos = 0;
};

int gif_read(GifFileType* gif, GifByteType* out, int n) {
    auto*  src  = static_cast<GifSource*>(gif->UserData);
    size_t take = std::min(size_t(n < 0 ? 0 : n), src->bytes.size() - src->pos);
    std::memcpy(out, src->bytes.data() + src->pos, take);
    src->pos += take;
    return int(take);
}

struct GifHandle {
    GifFileType* gif = nullptr;
    ~GifHandle() {
        int err = 0;
        if (gif) DGifCloseFile(gif, &err);
    }
};

Status gif_error(int code) {
    const char* msg = GifErrorString(code);
    if (code == D_GIF_ERR_READ_FAILED || code == D_GIF_ERR_EOF_TOO_SOON)
        return make_error(ErrorCode::bad_format, "gif: file is truncated");
    return make_error(ErrorCode::bad_format, std::string("gif: ") + (msg ? msg : "corrupt file"));
}

} // namespace

Result<ImageInfo> probe_gif(std::span<const uint8_t> bytes) {
    // Logical screen descriptor right after the 6-byte signature: little-endian width, height.
    if (bytes.size() < 10) return make_error(ErrorCode::bad_format, "gif: file is truncated");
    return ImageInfo{ImageFormat::gif, bytes[6] | bytes[7] << 8, bytes[8] | bytes[9] << 8, 1};
}

Result<Image> decode_gif(std::span<const uint8_t> bytes, const ImageDecodeParams& params) {
    GifSource src{bytes, 0};
    GifHandle h;
    int       err = 0;
    h.gif         = DGifOpen(&src, gif_read, &err);
    if (!h.gif) return gif_error(err);
    GLMV_RETURN_IF_ERROR(check_declared_size(h.gif->SWidth, h.gif->SHeight, params, "gif"));
    const int W = h.gif->SWidth, H = h.gif->SHeight;
    int       transparent = -1;
    for (;;) {
        GifRecordType type;
        if (DGifGetRecordType(h.gif, &type) == GIF_ERROR) return gif_error(h.gif->Error);
        if (type == TERMINATE_RECORD_TYPE) return make_error(ErrorCode::bad_format, "gif: no image in the file");
        if (type == EXTENSION_RECORD_TYPE) {
            int          code = 0;
            GifByteType* ext  = nullptr;
            if (DGifGetExtension(h.gif, &code, &ext) == GIF_ERROR) return gif_error(h.gif->Error);
            // Graphic control extension: byte 1 bit 0 = has transparency, byte 4 = its colour index.
            if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4 && (ext[1] & 1)) transparent = ext[4];
            while (ext)
                if (DGifGetExtensionNext(h.gif, &ext) == GIF_ERROR) return gif_error(h.gif->Error);
            continue;
        }
        if (type != IMAGE_DESC_RECORD_TYPE) continue;
        if (DGifGetImageDesc(h.gif) == GIF_ERROR) return gif_error(h.gif->Error);
        const GifImageDesc& desc = h.gif->Image;
        const ColorMapObject* cmap = desc.ColorMap ? desc.ColorMap : h.gif->SColorMap;
        if (!cmap || !cmap->Colors || cmap->ColorCount <= 0)
            return make_error(ErrorCode::bad_format, "gif: image has no colour table");
        // A frame is at most the screen size; a larger declared frame is corrupt, not a reason to allocate.
        if (desc.Width <= 0 || desc.Height <= 0 || desc.Width > W || desc.Height > H || desc.Left < 0 ||
            desc.Top < 0)
            return make_error(ErrorCode::bad_format, "gif: frame does not fit the logical screen");
        Image img;
        img.width  = W;
        img.height = H;
        img.rgb.resize(size_t(W) * H * 3);
        GifColorType bg{0, 0, 0};
        if (h.gif->SColorMap && h.gif->SBackGroundColor >= 0 && h.gif->SBackGroundColor < h.gif->SColorMap->ColorCount)
            bg = h.gif->SColorMap->Colors[h.gif->SBackGroundColor];
        for (size_t i = 0; i < size_t(W) * H; ++i)
            img.rgb[i * 3] = bg.Red, img.rgb[i * 3 + 1] = bg.Green, img.rgb[i * 3 + 2] = bg.Blue;
        std::vector<GifPixelType> line(size_t(desc.Width));
        // Interlaced GIFs store rows in four passes: 0,8,16…; 4,12…; 2,6…; 1,3….
        std::vector<int> order;
        if (desc.Interlace) {
            const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
            for (int p = 0; p < 4; ++p)
                for (int y = start[p]; y < desc.Height; y += step[p]) order.push_back(y);
        } else {
            for (int y = 0; y < desc.Height; ++y) order.push_back(y);
        }
        for (int y : order) {
            if (DGifGetLine(h.gif, line.data(), desc.Width) == GIF_ERROR) return gif_error(h.gif->Error);
            const int oy = desc.Top + y;
            if (oy >= H) continue;
            for (int x = 0; x < desc.Width; ++x) {
                const int ox = desc.Left + x;
                if (ox >= W || line[x] == transparent) continue;
                const GifColorType& c = cmap->Colors[line[x] < cmap->ColorCount ? line[x] : 0];
                uint8_t*            o = &img.rgb[(size_t(oy) * W + ox) * 3];
                o[0] = c.Red, o[1] = c.Green, o[2] = c.Blue;
            }
        }
        return img;
    }
}

} // namespace glmv::media::detail
