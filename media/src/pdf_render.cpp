// PDF loading, page rendering and text extraction with poppler-cpp.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>

#include <omp.h>
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-image.h>
#include <poppler-page-renderer.h>
#include <poppler-page.h>

#include "glmv/common/log.h"
#include "glmv/media/pdf.h"

namespace glmv::media {

namespace {

// poppler prints its errors to stderr by default; route them to our log sink instead.
void route_poppler_logs() {
    static std::once_flag once;
    std::call_once(once, [] {
        poppler::set_debug_error_function(
            [](const std::string& msg, void*) { GLMV_LOG_DEBUG("poppler: %s", msg.c_str()); }, nullptr);
    });
}

struct Source {
    std::string              path;
    std::span<const uint8_t> bytes;
    std::string label() const { return path.empty() ? std::string("<memory>") : path; }
};

// Opens one poppler document (one per thread: they are not shareable).
Result<std::unique_ptr<poppler::document>> open_document(const Source& src, const std::string& password) {
    route_poppler_logs();
    poppler::document* doc = nullptr;
    if (!src.path.empty()) {
        doc = poppler::document::load_from_file(src.path, password, password);
    } else {
        if (src.bytes.size() > size_t(INT32_MAX)) return make_error(ErrorCode::out_of_range, "PDF larger than 2 GiB");
        doc = poppler::document::load_from_raw_data(reinterpret_cast<const char*>(src.bytes.data()),
                                                    int(src.bytes.size()), password, password);
    }
    if (!doc) return make_error(ErrorCode::bad_format, "not a readable PDF (damaged or not a PDF file)");
    std::unique_ptr<poppler::document> d(doc);
    if (d->is_locked())
        return make_error(ErrorCode::unsupported,
                          password.empty() ? "the PDF is password-protected; remove the password (or enter it) first"
                                           : "the PDF password is wrong");
    return d;
}

Status check_file(const Source& src) {
    if (src.path.empty()) {
        if (src.bytes.empty()) return make_error(ErrorCode::bad_format, "the file is empty");
        if (src.bytes.size() > limits::pdf_max_file_bytes)
            return make_error(ErrorCode::out_of_range, "PDF is larger than 1 GiB");
        return {};
    }
    std::error_code ec;
    FILE*           f = std::fopen(src.path.c_str(), "rb");
    if (!f) return make_error(ErrorCode::not_found, "cannot open the file");
    std::fseek(f, 0, SEEK_END);
    long size = std::ftell(f);
    std::fclose(f);
    if (size <= 0) return make_error(ErrorCode::bad_format, "the file is empty");
    if (uint64_t(size) > limits::pdf_max_file_bytes) return make_error(ErrorCode::out_of_range, "PDF is larger than 1 GiB");
    return {};
}

// The largest DPI ≤ `dpi` at which the page fits the pixel budget (poppler rounds the size up, so we check the
// rounded size, not the real-valued one).
double capped_dpi(double w_pt, double h_pt, double dpi, int64_t max_pixels) {
    auto px = [&](double d) { return std::ceil(w_pt * d / 72.0) * std::ceil(h_pt * d / 72.0); };
    if (max_pixels > 0 && px(dpi) > double(max_pixels)) {
        dpi = 72.0 * std::sqrt(double(max_pixels) / (w_pt * h_pt));
        while (dpi > 0.01 && px(dpi) > double(max_pixels)) dpi *= 0.995;
    }
    return dpi;
}

// Truncates UTF-8 text to at most `max` bytes without splitting a character.
void truncate_utf8(std::string& s, size_t max) {
    if (s.size() <= max) return;
    size_t cut = max;
    while (cut > 0 && (uint8_t(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
}

Status render_page(poppler::document& doc, int number, const PdfRenderParams& params, PdfPage& out) {
    std::unique_ptr<poppler::page> page(doc.create_page(number - 1));
    if (!page) return make_error(ErrorCode::bad_format, "page " + std::to_string(number) + " cannot be read");
    poppler::rectf box = page->page_rect(poppler::crop_box);
    out.number         = number;
    out.width_pt       = box.width();
    out.height_pt      = box.height();
    if (params.extract_text) {
        poppler::byte_array utf8 = page->text().to_utf8();
        out.text.assign(utf8.begin(), utf8.end());
        truncate_utf8(out.text, limits::pdf_max_text_bytes_page);
    }
    if (!params.render) return {};
    if (!(out.width_pt > 0.5 && out.height_pt > 0.5) || !std::isfinite(out.width_pt * out.height_pt))
        return make_error(ErrorCode::bad_format, "page " + std::to_string(number) + " has an empty page box");
    out.dpi = capped_dpi(out.width_pt, out.height_pt, params.dpi, params.max_pixels);
    poppler::page_renderer r;
    r.set_render_hint(poppler::page_renderer::antialiasing, true);
    r.set_render_hint(poppler::page_renderer::text_antialiasing, true);
    r.set_image_format(poppler::image::format_bgr24);
    poppler::image img = r.render_page(page.get(), out.dpi, out.dpi);
    if (!img.is_valid() || img.width() <= 0 || img.height() <= 0)
        return make_error(ErrorCode::bad_format, "page " + std::to_string(number) + " cannot be rendered");
    if (params.max_pixels > 0 && int64_t(img.width()) * img.height() > params.max_pixels)
        return make_error(ErrorCode::internal, "rendered page exceeds the pixel budget");
    const int w = img.width(), h = img.height();
    out.image.width  = w;
    out.image.height = h;
    out.image.rgb.resize(size_t(w) * h * 3);
    const int   bpp  = img.format() == poppler::image::format_bgr24 ? 3 : 4; // rgb24/argb32 are 32-bit BGRA in memory
    const char* data = img.const_data();
    for (int y = 0; y < h; ++y) {
        const uint8_t* row = reinterpret_cast<const uint8_t*>(data) + size_t(y) * img.bytes_per_row();
        uint8_t*       o   = &out.image.rgb[size_t(y) * w * 3];
        for (int x = 0; x < w; ++x) o[x * 3 + 0] = row[x * bpp + 2], o[x * 3 + 1] = row[x * bpp + 1], o[x * 3 + 2] = row[x * bpp];
    }
    return {};
}

Result<PdfDocument> load(const Source& src, const PdfRenderParams& params) {
    GLMV_RETURN_IF_ERROR(check_file(src));
    if (!(params.dpi >= limits::pdf_min_dpi && params.dpi <= limits::pdf_max_dpi))
        return make_error(ErrorCode::invalid_argument, "DPI must be between 1 and 1200");
    auto doc = open_document(src, params.password);
    if (!doc) return doc.status();
    PdfDocument out;
    out.n_pages = (*doc)->pages();
    if (out.n_pages <= 0) return make_error(ErrorCode::bad_format, "the PDF has no pages");
    if (out.n_pages > limits::pdf_max_pages_document)
        return make_error(ErrorCode::out_of_range, "the PDF has " + std::to_string(out.n_pages) +
                                                       " pages; documents of up to " +
                                                       std::to_string(limits::pdf_max_pages_document) +
                                                       " pages are supported");
    const int first = params.first_page, last = params.last_page == 0 ? out.n_pages : params.last_page;
    if (first < 1 || last < first || last > out.n_pages)
        return make_error(ErrorCode::out_of_range, "page range " + std::to_string(first) + "-" + std::to_string(last) +
                                                       " is outside the document's 1-" + std::to_string(out.n_pages));
    const int count = last - first + 1;
    if (count > params.max_pages)
        return make_error(ErrorCode::out_of_range,
                          "the selection has " + std::to_string(count) + " pages, more than the " +
                              std::to_string(params.max_pages) + " pages that can be attached at once; choose a page " +
                              "range (for example --pages " + std::to_string(first) + "-" +
                              std::to_string(first + params.max_pages - 1) + ")");
    out.pages.resize(size_t(count));
    const int threads = std::clamp(params.n_threads > 0 ? params.n_threads : omp_get_max_threads(), 1, count);
    std::vector<Status> run_status(static_cast<size_t>(threads));
    // Contiguous page runs per thread, each with its own document (the first thread reuses the one we opened).
#pragma omp parallel for num_threads(threads) schedule(static, 1) if (threads > 1)
    for (int t = 0; t < threads; ++t) {
        const int begin = first + int(int64_t(count) * t / threads);
        const int end   = first + int(int64_t(count) * (t + 1) / threads);
        std::unique_ptr<poppler::document> own;
        poppler::document*                 d = nullptr;
        Status                             s;
        if (t == 0) {
            d = doc->get();
        } else if (auto o = open_document(src, params.password); o) {
            own = std::move(*o);
            d   = own.get();
        } else {
            s = o.status();
        }
        for (int n = begin; s.ok() && n < end; ++n) {
            if (params.cancel && params.cancel->load(std::memory_order_relaxed)) {
                s = make_error(ErrorCode::cancelled, "PDF rendering was cancelled");
                break;
            }
            s = render_page(*d, n, params, out.pages[size_t(n - first)]);
        }
        run_status[size_t(t)] = s;
    }
    for (const Status& s : run_status) GLMV_RETURN_IF_ERROR(s);
    // The per-document text budget: later pages lose their text first.
    uint64_t total = 0;
    for (PdfPage& p : out.pages) {
        if (total + p.text.size() > limits::pdf_max_text_bytes_total) truncate_utf8(p.text, limits::pdf_max_text_bytes_total - total);
        total += p.text.size();
    }
    return out;
}

} // namespace

Result<int> pdf_page_count(const std::string& path, const std::string& password) {
    Source src{path, {}};
    if (Status s = check_file(src); !s.ok()) return s.with_context(path);
    auto doc = open_document(src, password);
    if (!doc) return doc.status().with_context(path);
    int n = (*doc)->pages();
    if (n <= 0) return make_error(ErrorCode::bad_format, path + ": the PDF has no pages");
    return n;
}

Result<PdfDocument> load_pdf(const std::string& path, const PdfRenderParams& params) {
    auto r = load(Source{path, {}}, params);
    if (!r) return r.status().with_context(path);
    return r;
}

Result<PdfDocument> load_pdf_bytes(std::span<const uint8_t> bytes, const PdfRenderParams& params) {
    return load(Source{{}, bytes}, params);
}

Result<std::pair<int, int>> parse_page_range(const std::string& text) {
    auto parse_int = [](const std::string& s, int* out) {
        if (s.empty() || s.size() > 9) return false;
        for (char c : s)
            if (c < '0' || c > '9') return false;
        *out = std::stoi(s);
        return *out >= 1;
    };
    size_t dash = text.find('-');
    int    a = 0, b = 0;
    if (dash == std::string::npos) {
        if (!parse_int(text, &a)) return make_error(ErrorCode::invalid_argument, "bad page range '" + text + "'");
        return std::pair<int, int>{a, a};
    }
    if (!parse_int(text.substr(0, dash), &a))
        return make_error(ErrorCode::invalid_argument, "bad page range '" + text + "' (expected A-B, A- or A)");
    std::string rest = text.substr(dash + 1);
    if (rest.empty()) return std::pair<int, int>{a, 0};
    if (!parse_int(rest, &b) || b < a)
        return make_error(ErrorCode::invalid_argument, "bad page range '" + text + "' (expected A-B with A <= B)");
    return std::pair<int, int>{a, b};
}

} // namespace glmv::media
