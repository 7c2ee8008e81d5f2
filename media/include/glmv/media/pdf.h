// PDF documents via poppler-cpp: page count, pages rendered to RGB8 (one image per page, as the official GLM-V demo
// sends them), and the page text (for search and citing pages).
//
//   glmv::media::PdfRenderParams p;          // 180 dpi, each page ≤ 9,633,792 px, ≤ 300 pages per request
//   p.first_page = 3; p.last_page = 7;        // 1-based, inclusive; last_page 0 = to the end
//   auto doc = glmv::media::load_pdf("paper.pdf", p);
//   if (!doc) show(doc.status().message());  // "paper.pdf: the PDF is password-protected; ..."
//   for (auto& pg : doc->pages) use(pg.number, pg.image, pg.text);
//
// The DPI is lowered per page when needed so that the rendered page never exceeds max_pixels (an A4 page reaches
// the 9.6 MP budget at ≈ 315 dpi; a 14,400 pt poster is rendered small instead of at 2 GB). A range with more than
// max_pages pages is refused with a message that says how to narrow it. Encrypted (password-locked), empty and
// broken files give clear errors.
//
// poppler-cpp cannot cancel a page render; the cancel flag is polled between pages and the pixel cap bounds each
// render. Threading: functions are reentrant. With OpenMP, pages are rendered in parallel, each thread on its own
// poppler document (poppler documents are not safe to share between threads).
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "glmv/common/status.h"
#include "glmv/media/image.h"
#include "glmv/media/limits.h"

namespace glmv::media {

struct PdfRenderParams {
    double                   dpi          = limits::pdf_default_dpi;
    int64_t                  max_pixels   = limits::pdf_default_max_pixels; // per rendered page
    int                      first_page   = 1;                              // 1-based, inclusive
    int                      last_page    = 0;                              // 0 = last page of the document
    int                      max_pages    = limits::pdf_max_pages_request;  // pages per request
    bool                     render       = true;                           // false: text only
    bool                     extract_text = true;
    int                      n_threads    = 0;                              // 0 = OpenMP's default
    std::string              password;                                      // user password, if the caller has one
    const std::atomic<bool>* cancel       = nullptr;
};

struct PdfPage {
    int         number    = 0;  // 1-based page number in the document
    double      width_pt  = 0;  // crop box size in points (1/72 inch), before the page's /Rotate
    double      height_pt = 0;
    double      dpi       = 0;  // the DPI actually used (≤ the requested one)
    Image       image;          // empty when render = false
    std::string text;           // UTF-8, ≤ limits::pdf_max_text_bytes_page (cut at a character boundary)
};

struct PdfDocument {
    int                  n_pages = 0; // pages in the whole document
    std::vector<PdfPage> pages;       // the requested range, in order
};

// Number of pages. Errors as for load_pdf.
Result<int> pdf_page_count(const std::string& path, const std::string& password = {});

// Loads, renders and extracts text for the requested page range.
Result<PdfDocument> load_pdf(const std::string& path, const PdfRenderParams& params = {});
// The same for a PDF held in memory (the caller keeps the bytes alive during the call).
Result<PdfDocument> load_pdf_bytes(std::span<const uint8_t> bytes, const PdfRenderParams& params = {});

// Parses a 1-based page range: "5" → (5, 5), "2-7" → (2, 7), "3-" → (3, 0) meaning "to the end".
Result<std::pair<int, int>> parse_page_range(const std::string& text);

} // namespace glmv::media
