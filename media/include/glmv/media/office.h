// Office documents (PPT/PPTX/DOC/DOCX/ODP/ODT, …) → PDF with LibreOffice in headless mode, so they can be
// rendered page by page like any PDF (pdf.h).
//
//   if (glmv::media::is_office_document(path)) {
//       auto pdf = glmv::media::convert_office_to_pdf(path, temp_dir);
//       if (!pdf) show(pdf.status().message());   // "LibreOffice is not installed: install it (…) to attach …"
//       else      load_pdf(*pdf, …);
//   }
//
// The conversion runs `soffice --headless --convert-to pdf --outdir OUT FILE` as a child process (no shell), with
// a private, throw-away LibreOffice profile so it neither collides with a running LibreOffice nor touches the
// user's settings; it is killed on timeout or cancellation.
//
// Threading: reentrant; each call uses its own profile directory.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "glmv/common/status.h"
#include "glmv/media/limits.h"

namespace glmv::media {

// True for the extensions LibreOffice converts for us (case-insensitive): ppt pptx pps ppsx doc docx odp odt
// rtf xls xlsx ods.
bool is_office_document(const std::string& path);

// The soffice/libreoffice executable on PATH (or the macOS/Windows default install locations), if any.
std::optional<std::string> find_soffice();

struct OfficeConvertParams {
    std::string              soffice;                                   // executable; empty = find_soffice()
    int                      timeout_s = limits::office_convert_timeout_s;
    const std::atomic<bool>* cancel    = nullptr;
};

// Converts `input` into `out_dir` (which must exist) and returns the PDF's path. Errors: not_found (input missing),
// unsupported (LibreOffice not installed — the message says what to install), io_error/bad_format (conversion
// failed or produced nothing), cancelled, out_of_range (timeout).
Result<std::string> convert_office_to_pdf(const std::string& input, const std::string& out_dir,
                                          const OfficeConvertParams& params = {});

} // namespace glmv::media
