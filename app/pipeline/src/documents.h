// A document attachment (PDF, or an Office file converted with LibreOffice first) rendered to page images, as the
// official demo sends documents: shared by the embedded and the remote path.
#pragma once

#include "glmv/media/pdf.h"
#include "glmv/pipeline/chat_engine.h"

namespace glmv::pipeline {

// Renders the attachment's page range at settings.pdf_dpi, each page capped at max_pixels.
Result<media::PdfDocument> render_document(const Attachment& a, const ChatSettings& settings, int64_t max_pixels);

} // namespace glmv::pipeline
