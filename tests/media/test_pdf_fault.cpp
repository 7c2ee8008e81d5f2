// Malformed PDFs (label fault): encrypted, zero pages, empty, not a PDF, truncated — each a clear error naming the
// file, from the path and from memory.
#include <cstdio>

#include "glmv/media/pdf.h"
#include "media_test_util.h"

using namespace glmv;

namespace {

// A PDF whose /Encrypt dictionary does not accept the empty user password: poppler reports it locked.
std::vector<uint8_t> encrypted_pdf() {
    std::string objs[] = {
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        "<< /Filter /Standard /V 1 /R 2 /P -4 /O <" + std::string(64, 'A') + "> /U <" + std::string(64, 'B') + "> >>",
    };
    std::string         s = "%PDF-1.4\n";
    std::vector<size_t> offsets;
    for (int i = 0; i < 4; ++i) {
        offsets.push_back(s.size());
        s += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
    }
    size_t xref = s.size();
    s += "xref\n0 5\n0000000000 65535 f \n";
    for (size_t o : offsets) {
        char line[32];
        std::snprintf(line, sizeof(line), "%010zu 00000 n \n", o);
        s += line;
    }
    s += "trailer\n<< /Size 5 /Root 1 0 R /Encrypt 4 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> "
         "<0123456789ABCDEF0123456789ABCDEF>] >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
    return std::vector<uint8_t>(s.begin(), s.end());
}

// A structurally valid PDF whose page tree is empty.
std::vector<uint8_t> zero_page_pdf() {
    std::string s = "%PDF-1.4\n";
    size_t      o1 = s.size();
    s += "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n";
    size_t o2 = s.size();
    s += "2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n";
    size_t xref = s.size();
    char   buf[128];
    std::snprintf(buf, sizeof(buf), "xref\n0 3\n0000000000 65535 f \n%010zu 00000 n \n%010zu 00000 n \n", o1, o2);
    s += buf;
    s += "trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
    return std::vector<uint8_t>(s.begin(), s.end());
}

TEST(PdfFault, BadFilesGiveClearErrors) {
    test::TempDir dir("glmv-pdf-fault");
    auto          five = test::read_bytes(test::source_dir() + "/tests/data/media/seeds/pdf/two_pages.pdf");
    ASSERT_FALSE(five.empty());
    struct Case {
        std::string          name;
        std::vector<uint8_t> bytes;
        ErrorCode            code;
        const char*          part;
    };
    std::vector<uint8_t> truncated(five.begin(), five.begin() + std::ptrdiff_t(five.size() / 2));
    std::string          text = "just some text, not a PDF\n";
    std::vector<Case>    cases = {
        {"encrypted.pdf", encrypted_pdf(), ErrorCode::unsupported, "password"},
        {"zero.pdf", zero_page_pdf(), ErrorCode::bad_format, ""},
        {"empty.pdf", {}, ErrorCode::bad_format, "empty"},
        {"text.pdf", std::vector<uint8_t>(text.begin(), text.end()), ErrorCode::bad_format, "not a readable PDF"},
        {"truncated.pdf", truncated, ErrorCode::bad_format, ""},
    };
    for (auto& c : cases) {
        test::write_bytes(dir.file(c.name), c.bytes);
        auto doc = media::load_pdf(dir.file(c.name));
        if (c.name == "truncated.pdf" && doc) {
            // poppler may rebuild the xref of a cut file; then whatever it returns must be well-formed.
            for (auto& pg : doc->pages) EXPECT_EQ(pg.image.rgb.size(), size_t(pg.image.width) * pg.image.height * 3);
            continue;
        }
        ASSERT_FALSE(doc) << c.name;
        EXPECT_EQ(doc.status().code(), c.code) << c.name << ": " << doc.status().to_string();
        EXPECT_NE(doc.status().message().find(c.part), std::string::npos) << doc.status().message();
        EXPECT_NE(doc.status().message().find(c.name), std::string::npos);
        auto mem = media::load_pdf_bytes(c.bytes);
        EXPECT_FALSE(mem) << c.name;
    }
    EXPECT_EQ(media::load_pdf(dir.file("nope.pdf")).status().code(), ErrorCode::not_found);
}

TEST(PdfFault, ZeroAreaPageAndHugePageAreHandled) {
    // A zero-area MediaBox is refused for rendering; a 14,400 pt poster is rendered within the pixel budget.
    auto make = [](const std::string& box) {
        std::string s = "%PDF-1.4\n", objs[] = {"<< /Type /Catalog /Pages 2 0 R >>",
                                                 "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                                                 "<< /Type /Page /Parent 2 0 R /MediaBox [" + box + "] >>"};
        std::vector<size_t> off;
        for (int i = 0; i < 3; ++i) {
            off.push_back(s.size());
            s += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
        }
        size_t xref = s.size();
        s += "xref\n0 4\n0000000000 65535 f \n";
        for (size_t o : off) {
            char line[32];
            std::snprintf(line, sizeof(line), "%010zu 00000 n \n", o);
            s += line;
        }
        s += "trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
        return std::vector<uint8_t>(s.begin(), s.end());
    };
    auto zero = make("0 0 0 0");
    auto z    = media::load_pdf_bytes(zero);
    if (!z) EXPECT_FALSE(z.status().message().empty());
    else for (auto& pg : z->pages) EXPECT_GT(pg.image.width, 0);
    auto huge = make("0 0 14400 14400");
    media::PdfRenderParams p;
    p.max_pixels = 1'000'000;
    auto h       = media::load_pdf_bytes(huge, p);
    ASSERT_TRUE(h) << h.status().to_string();
    EXPECT_LE(int64_t(h->pages[0].image.width) * h->pages[0].image.height, 1'000'000);
}

} // namespace
