#include "documents.h"

#include <atomic>
#include <filesystem>
#include <unistd.h>

#include "glmv/media/office.h"

namespace glmv::pipeline {

namespace fs = std::filesystem;

Result<media::PdfDocument> render_document(const Attachment& a, const ChatSettings& s, int64_t max_pixels) {
    std::string pdf_path = a.path;
    fs::path    tmp;
    std::error_code ec;
    if (media::is_office_document(a.path)) {
        static std::atomic<int> counter{0};
        tmp = fs::temp_directory_path() /
              ("glmv-office-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::create_directories(tmp, ec);
        auto converted = media::convert_office_to_pdf(a.path, tmp.string());
        if (!converted) {
            fs::remove_all(tmp, ec);
            return converted.status();
        }
        pdf_path = *converted;
    }
    media::PdfRenderParams p;
    p.dpi          = s.pdf_dpi;
    p.max_pixels   = max_pixels;
    p.first_page   = a.first_page;
    p.last_page    = a.last_page;
    p.max_pages    = s.max_pdf_pages;
    p.extract_text = false;
    auto doc       = media::load_pdf(pdf_path, p);
    if (!tmp.empty()) fs::remove_all(tmp, ec);
    return doc;
}

} // namespace glmv::pipeline
