// libFuzzer target: PDF bytes → load, page count, render page 1 at a capped size, extract its text.
// Property: the rendered page never exceeds the pixel cap.
#include <cstdint>
#include <cstdlib>

#include "glmv/media/pdf.h"

// fontconfig (loaded by poppler's font lookup) keeps process-lifetime caches that LeakSanitizer reports at exit.
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig\n"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > (4u << 20)) return 0;
    glmv::media::PdfRenderParams p;
    p.first_page = p.last_page = 1;
    p.max_pixels = 250'000; // small pages keep each input well under the 10 s budget
    p.n_threads  = 1;
    auto doc     = glmv::media::load_pdf_bytes({data, size}, p);
    if (!doc) return 0;
    for (auto& page : doc->pages) {
        if (int64_t(page.image.width) * page.image.height > p.max_pixels ||
            page.image.rgb.size() != size_t(page.image.width) * page.image.height * 3 ||
            page.text.size() > glmv::media::limits::pdf_max_text_bytes_page)
            std::abort();
    }
    return 0;
}
