// PDF rendering and text through poppler-cpp on real PDFs written at test time with Qt's QPdfWriter: page ranges,
// caps, cancellation; Office conversion paths. Malformed PDFs: test_pdf_fault.cpp.
#include <QGuiApplication>
#include <QPainter>
#include <QPdfWriter>

#include <atomic>
#include <filesystem>

#include "glmv/media/office.h"
#include "glmv/media/pdf.h"
#include "media_test_util.h"

using namespace glmv;

// Under the sanitizer preset: fontconfig and Qt keep process-lifetime caches that LeakSanitizer would report.
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig\nleak:libQt6\n"; }

namespace {

// QPdfWriter needs a QGuiApplication for fonts; offscreen needs no display.
void ensure_qt() {
    static QGuiApplication* app = [] {
        qputenv("QT_QPA_PLATFORM", "offscreen");
        static int   argc   = 1;
        static char  name[] = "test_pdf";
        static char* argv[] = {name, nullptr};
        return new QGuiApplication(argc, argv);
    }();
    (void)app;
}

// An A4 PDF with `pages` pages; page n has a red square in its top-left corner and the text "Page n of N".
void write_pdf(const std::string& path, int pages) {
    ensure_qt();
    QPdfWriter pdf(QString::fromStdString(path));
    pdf.setPageSize(QPageSize(QPageSize::A4));
    pdf.setResolution(72);
    pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
    QPainter p(&pdf);
    for (int n = 1; n <= pages; ++n) {
        if (n > 1) pdf.newPage();
        p.fillRect(QRectF(0, 0, 100, 100), QColor(255, 0, 0));
        QFont f("DejaVu Sans");
        f.setPointSize(24);
        p.setFont(f);
        p.drawText(QPointF(120, 300), QString("Page %1 of %2").arg(n).arg(pages));
    }
    p.end();
}

class Pdf : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dir_ = new test::TempDir("glmv-pdf");
        write_pdf(dir_->file("five.pdf"), 5);
    }
    static void TearDownTestSuite() { delete dir_; }
    static test::TempDir* dir_;
};
test::TempDir* Pdf::dir_ = nullptr;

TEST_F(Pdf, PageCountRenderAndText) {
    auto n = media::pdf_page_count(dir_->file("five.pdf"));
    ASSERT_TRUE(n) << n.status().to_string();
    EXPECT_EQ(*n, 5);
    auto doc = media::load_pdf(dir_->file("five.pdf"));
    ASSERT_TRUE(doc) << doc.status().to_string();
    EXPECT_EQ(doc->n_pages, 5);
    ASSERT_EQ(doc->pages.size(), 5u);
    for (int i = 0; i < 5; ++i) {
        const auto& pg = doc->pages[size_t(i)];
        EXPECT_EQ(pg.number, i + 1);
        EXPECT_NEAR(pg.width_pt, 595.0, 1.0);
        EXPECT_NEAR(pg.height_pt, 842.0, 1.0);
        EXPECT_DOUBLE_EQ(pg.dpi, 180.0);
        // A4 at 180 dpi = 1488 × 2105 px (poppler rounds up).
        EXPECT_NEAR(pg.image.width, 1488, 2);
        EXPECT_NEAR(pg.image.height, 2105, 2);
        EXPECT_NE(pg.text.find("Page " + std::to_string(i + 1) + " of 5"), std::string::npos) << pg.text;
        // The red square (top-left, 100 pt = 250 px): channel order is RGB.
        const uint8_t* px = &pg.image.rgb[(size_t(50) * pg.image.width + 50) * 3];
        EXPECT_GT(px[0], 240);
        EXPECT_LT(px[1], 15);
        EXPECT_LT(px[2], 15);
        const uint8_t* white = &pg.image.rgb[(size_t(1000) * pg.image.width + 1400) * 3];
        EXPECT_GT(white[0] + white[1] + white[2], 740);
    }
}

TEST_F(Pdf, PageRangeAndSingleThreadAgree) {
    media::PdfRenderParams p;
    p.first_page = 2;
    p.last_page  = 4;
    auto par     = media::load_pdf(dir_->file("five.pdf"), p);
    p.n_threads  = 1;
    auto seq     = media::load_pdf(dir_->file("five.pdf"), p);
    ASSERT_TRUE(par && seq);
    ASSERT_EQ(par->pages.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(par->pages[i].number, int(i) + 2);
        EXPECT_EQ(par->pages[i].image.rgb, seq->pages[i].image.rgb);
    }
    auto r = media::parse_page_range("2-4");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (std::pair<int, int>{2, 4}));
    EXPECT_EQ(*media::parse_page_range("3"), (std::pair<int, int>{3, 3}));
    EXPECT_EQ(*media::parse_page_range("3-"), (std::pair<int, int>{3, 0}));
    for (const char* bad : {"", "0", "4-2", "a-b", "-3", "1-2-3", "99999999999"})
        EXPECT_FALSE(media::parse_page_range(bad)) << bad;
}

TEST_F(Pdf, PixelBudgetLowersTheDpi) {
    media::PdfRenderParams p;
    p.max_pixels = 100000;
    p.dpi        = 300;
    auto doc     = media::load_pdf(dir_->file("five.pdf"), p);
    ASSERT_TRUE(doc);
    for (auto& pg : doc->pages) {
        EXPECT_LE(int64_t(pg.image.width) * pg.image.height, 100000);
        EXPECT_GT(int64_t(pg.image.width) * pg.image.height, 95000); // close to the budget, not far below
        EXPECT_LT(pg.dpi, 300);
    }
}

TEST_F(Pdf, TooManyPagesAndOutOfRange) {
    media::PdfRenderParams p;
    p.max_pages = 3;
    auto doc    = media::load_pdf(dir_->file("five.pdf"), p);
    ASSERT_FALSE(doc);
    EXPECT_EQ(doc.status().code(), ErrorCode::out_of_range);
    EXPECT_NE(doc.status().message().find("5 pages"), std::string::npos) << doc.status().message();
    EXPECT_NE(doc.status().message().find("--pages 1-3"), std::string::npos) << doc.status().message();
    p.max_pages  = 300;
    p.first_page = 6;
    auto out     = media::load_pdf(dir_->file("five.pdf"), p);
    ASSERT_FALSE(out);
    EXPECT_NE(out.status().message().find("outside"), std::string::npos);
}

TEST_F(Pdf, TextOnlyAndCancel) {
    media::PdfRenderParams p;
    p.render = false;
    auto doc = media::load_pdf(dir_->file("five.pdf"), p);
    ASSERT_TRUE(doc);
    EXPECT_TRUE(doc->pages[0].image.rgb.empty());
    EXPECT_FALSE(doc->pages[0].text.empty());
    std::atomic<bool> cancel{true};
    p.cancel = &cancel;
    auto c   = media::load_pdf(dir_->file("five.pdf"), p);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.status().code(), ErrorCode::cancelled);
}

// ---------------------------------------------------------------------------------------------------------------
// Office conversion: the real spawn path, driven by stand-in "soffice" scripts (LibreOffice is not installed here).

TEST_F(Pdf, OfficeDetectionAndMissingLibreOffice) {
    EXPECT_TRUE(media::is_office_document("Deck.PPTX"));
    EXPECT_TRUE(media::is_office_document("/x/y/report.docx"));
    EXPECT_TRUE(media::is_office_document("slides.odp"));
    EXPECT_FALSE(media::is_office_document("paper.pdf"));
    test::write_bytes(dir_->file("deck.pptx"), {'P', 'K', 3, 4});
    media::OfficeConvertParams p;
    p.soffice = "/nonexistent/soffice";
    auto r    = media::convert_office_to_pdf(dir_->file("deck.pptx"), dir_->path(), p);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.status().code(), ErrorCode::unsupported);
    EXPECT_NE(r.status().message().find("install LibreOffice"), std::string::npos) << r.status().message();
}

TEST_F(Pdf, OfficeConversionRunsSofficeAndLoadsItsPdf) {
    // A stand-in that behaves like `soffice --convert-to pdf --outdir DIR FILE`: copies a PDF to DIR/<stem>.pdf.
    const std::string fake = dir_->file("soffice");
    std::string       script = "#!/bin/sh\n"
                               "out=''; in=''\n"
                               "while [ $# -gt 0 ]; do case \"$1\" in --outdir) out=\"$2\"; shift;; -*) ;; *) in=\"$1\";; "
                               "esac; shift; done\n"
                               "[ \"$in\" = pdf ] && exit 3\n"
                               "base=$(basename \"$in\"); cp '" + dir_->file("five.pdf") + "' \"$out/${base%.*}.pdf\"\n";
    test::write_bytes(fake, std::vector<uint8_t>(script.begin(), script.end()));
    std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
    test::write_bytes(dir_->file("talk.odp"), {'P', 'K', 3, 4});
    test::TempDir              out("glmv-office");
    media::OfficeConvertParams p;
    p.soffice = fake;
    auto pdf  = media::convert_office_to_pdf(dir_->file("talk.odp"), out.path(), p);
    ASSERT_TRUE(pdf) << pdf.status().to_string();
    EXPECT_EQ(std::filesystem::path(*pdf).filename(), "talk.pdf");
    auto n = media::pdf_page_count(*pdf);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 5);

    // A converter that hangs is killed at the timeout.
    const std::string slow = dir_->file("slow_soffice");
    std::string       s2   = "#!/bin/sh\nsleep 30\n";
    test::write_bytes(slow, std::vector<uint8_t>(s2.begin(), s2.end()));
    std::filesystem::permissions(slow, std::filesystem::perms::owner_all);
    p.soffice   = slow;
    p.timeout_s = 1;
    auto t      = media::convert_office_to_pdf(dir_->file("talk.odp"), out.path(), p);
    ASSERT_FALSE(t);
    EXPECT_NE(t.status().message().find("did not finish"), std::string::npos) << t.status().message();
}

} // namespace
