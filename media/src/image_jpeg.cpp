// JPEG via libjpeg-turbo (PIL's decoder: islow IDCT, fancy upsampling), with EXIF orientation and CMYK.
// libjpeg reports fatal errors through error_exit, which we turn into a longjmp back to decode_jpeg.
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>

#include <jpeglib.h>
#include <jerror.h>

#include "image_decoders.h"

namespace glmv::media::detail {

namespace {

// A progressive JPEG can declare thousands of scans, each re-walking the whole image (reliability §10.3).
constexpr int jpeg_max_scans = 1000;

struct JpegError {
    jpeg_error_mgr mgr{};
    jmp_buf        jump{};
    char           message[JMSG_LENGTH_MAX] = {0};
};

void jpeg_on_error(j_common_ptr cinfo) {
    auto* err = reinterpret_cast<JpegError*>(cinfo->err);
    cinfo->err->format_message(cinfo, err->message);
    std::longjmp(err->jump, 1);
}

// Recoverable corruption warnings are ignored as PIL ignores them, except premature end of data: libjpeg would
// pad the picture with grey, PIL reports "image file is truncated", and so do we.
void jpeg_on_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        auto* err = reinterpret_cast<JpegError*>(cinfo->err);
        std::snprintf(err->message, sizeof(err->message), "file is truncated");
        std::longjmp(err->jump, 1);
    }
}

void jpeg_on_progress(j_common_ptr cinfo) {
    auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
    if (cinfo->is_decompressor && d->input_scan_number > jpeg_max_scans) {
        auto* err = reinterpret_cast<JpegError*>(cinfo->err);
        std::snprintf(err->message, sizeof(err->message), "more than %d progressive scans", jpeg_max_scans);
        std::longjmp(err->jump, 1);
    }
}

struct JpegDecoder {
    jpeg_decompress_struct cinfo{};
    JpegError              err;
    jpeg_progress_mgr      progress{};
    bool                   created     = false;
    int                    orientation = 1; // here, not on the stack: it must survive a longjmp
    ~JpegDecoder() {
        if (created) jpeg_destroy_decompress(&cinfo);
    }
};

// Orientation from the first APP1 "Exif" marker saved by jpeg_save_markers.
int find_orientation(const jpeg_decompress_struct& cinfo) {
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0)
            return exif_orientation({m->data, m->data_length});
    return 1;
}

} // namespace

Result<ImageInfo> probe_jpeg(std::span<const uint8_t> bytes) {
    auto d = std::make_unique<JpegDecoder>();
    d->cinfo.err           = jpeg_std_error(&d->err.mgr);
    d->err.mgr.error_exit  = jpeg_on_error;
    d->err.mgr.emit_message = jpeg_on_message;
    if (setjmp(d->err.jump)) return make_error(ErrorCode::bad_format, std::string("jpeg: ") + d->err.message);
    jpeg_create_decompress(&d->cinfo);
    d->created = true;
    jpeg_mem_src(&d->cinfo, bytes.data(), (unsigned long)bytes.size());
    jpeg_save_markers(&d->cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&d->cinfo, TRUE);
    int o = find_orientation(d->cinfo);
    int w = int(d->cinfo.image_width), h = int(d->cinfo.image_height);
    if (o >= 5) std::swap(w, h);
    return ImageInfo{ImageFormat::jpeg, w, h, o};
}

Result<Image> decode_jpeg(std::span<const uint8_t> bytes, const ImageDecodeParams& params) {
    auto d = std::make_unique<JpegDecoder>();
    d->cinfo.err            = jpeg_std_error(&d->err.mgr);
    d->err.mgr.error_exit   = jpeg_on_error;
    d->err.mgr.emit_message = jpeg_on_message;
    Image                img;
    std::vector<uint8_t> line; // one scanline as libjpeg delivers it (RGB or CMYK)
    if (setjmp(d->err.jump)) return make_error(ErrorCode::bad_format, std::string("jpeg: ") + d->err.message);
    jpeg_create_decompress(&d->cinfo);
    d->created = true;
    jpeg_mem_src(&d->cinfo, bytes.data(), (unsigned long)bytes.size());
    jpeg_save_markers(&d->cinfo, JPEG_APP0 + 1, 0xFFFF);
    d->cinfo.mem->max_memory_to_use = long(limits::image_max_decoder_bytes);
    d->progress.progress_monitor    = jpeg_on_progress;
    d->cinfo.progress               = &d->progress;
    jpeg_read_header(&d->cinfo, TRUE);
    {
        Status s = check_declared_size(d->cinfo.image_width, d->cinfo.image_height, params, "jpeg");
        if (!s.ok()) return s;
    }
    if (params.apply_exif_orientation) d->orientation = find_orientation(d->cinfo);
    const bool cmyk = d->cinfo.jpeg_color_space == JCS_CMYK || d->cinfo.jpeg_color_space == JCS_YCCK;
    d->cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB; // libjpeg converts gray and YCbCr to RGB itself
    jpeg_start_decompress(&d->cinfo);
    const int w = int(d->cinfo.output_width), h = int(d->cinfo.output_height);
    const int comps = d->cinfo.output_components;
    if (comps != (cmyk ? 4 : 3)) {
        std::snprintf(d->err.message, sizeof(d->err.message), "unexpected %d output components", comps);
        std::longjmp(d->err.jump, 1);
    }
    img.width  = w;
    img.height = h;
    img.rgb.resize(size_t(w) * h * 3);
    line.resize(size_t(w) * comps);
    // Adobe CMYK JPEGs store inverted ink values (PIL reads them as "CMYK;I").
    const bool inverted = cmyk && d->cinfo.saw_Adobe_marker;
    while (d->cinfo.output_scanline < d->cinfo.output_height) {
        uint8_t*   out = &img.rgb[size_t(d->cinfo.output_scanline) * w * 3];
        JSAMPROW   row = cmyk ? line.data() : out;
        if (jpeg_read_scanlines(&d->cinfo, &row, 1) != 1) {
            std::snprintf(d->err.message, sizeof(d->err.message), "file is truncated");
            std::longjmp(d->err.jump, 1);
        }
        if (cmyk)
            for (int x = 0; x < w; ++x) {
                // PIL's CMYK→RGB: r = (255 − c)(255 − k)/255 on true ink values.
                int c = line[x * 4], m = line[x * 4 + 1], y = line[x * 4 + 2], k = line[x * 4 + 3];
                if (!inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
                out[x * 3 + 0] = uint8_t((c * k + 127) / 255);
                out[x * 3 + 1] = uint8_t((m * k + 127) / 255);
                out[x * 3 + 2] = uint8_t((y * k + 127) / 255);
            }
    }
    jpeg_finish_decompress(&d->cinfo);
    apply_orientation(img, d->orientation);
    return img;
}

} // namespace glmv::media::detail
