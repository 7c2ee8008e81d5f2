// The real widgets, driven offscreen with QTest against a scripted backend.
#include <gtest/gtest.h>

#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QTest>
#include <QToolButton>

#include "composer.h"
#include "download_dialog.h"
#include "fake_backend.h"
#include "glmv/ui/main_window.h"
#include "message_widgets.h"
#include "settings_dialog.h"
#include "test_util.h"

using namespace glmv;

namespace {
bool waitFor(const std::function<bool()>& cond, int ms = 5000) {
    for (int i = 0; i < ms / 10; ++i) {
        if (cond()) return true;
        QTest::qWait(10);
    }
    return cond();
}
} // namespace

TEST(MainWindow, EnterSendsThinkingStreamsThenCollapsesAndTheAnswerRendersWithTheBox) {
    test::FakeBackend backend;
    ui::MainWindow    w(&backend);
    w.show();
    auto* edit = w.findChild<QPlainTextEdit*>("promptEdit");
    ASSERT_TRUE(edit);
    QTest::keyClicks(edit, "What is this?");
    QTest::keyClick(edit, Qt::Key_Return, Qt::ShiftModifier); // Shift+Enter: a new line, not a send
    EXPECT_TRUE(backend.sent.isEmpty());
    QTest::keyClicks(edit, "Please.");
    QTest::keyClick(edit, Qt::Key_Return);
    ASSERT_EQ(backend.sent.size(), 1);
    EXPECT_EQ(backend.sent[0].first, "What is this?\nPlease.");
    EXPECT_TRUE(edit->toPlainText().isEmpty());
    // While streaming: Stop is shown, the thinking header counts.
    auto* stop = w.findChild<QPushButton*>("stopButton");
    EXPECT_TRUE(waitFor([&] { return !w.assistantWidgets().isEmpty(); }));
    EXPECT_TRUE(stop->isVisible());
    EXPECT_TRUE(w.assistantWidgets()[0]->thinkingHeaderText().startsWith("Thinking"));
    ASSERT_TRUE(waitFor([&] { return !backend.busy(); }));
    auto* a = w.assistantWidgets()[0];
    EXPECT_TRUE(a->thinkingHeaderText().startsWith("Thought for")) << a->thinkingHeaderText().toStdString();
    EXPECT_FALSE(a->thinkingExpanded());
    EXPECT_TRUE(a->renderedAnswerPlainText().contains("It is a cat.")) << a->renderedAnswerPlainText().toStdString();
    EXPECT_FALSE(a->renderedAnswerPlainText().contains(QString::fromUtf8("⟦")));
    EXPECT_FALSE(stop->isVisible());
    auto* stats = a->findChild<QLabel*>("statsLabel");
    EXPECT_TRUE(stats->text().contains("34.5 tokens/s")) << stats->text().toStdString();
}

TEST(MainWindow, StopRegenerateAndEditResend) {
    test::FakeBackend backend;
    backend.script = QStringList(200, "A:word ");
    ui::MainWindow w(&backend);
    w.show();
    w.submitPrompt("Tell me a story", {});
    ASSERT_TRUE(waitFor([&] { return !w.assistantWidgets().isEmpty(); }));
    QTest::qWait(100);
    QTest::mouseClick(w.findChild<QPushButton*>("stopButton"), Qt::LeftButton);
    EXPECT_EQ(backend.stops, 1);
    EXPECT_FALSE(backend.busy());
    EXPECT_TRUE(w.assistantWidgets()[0]->findChild<QLabel*>("statsLabel")->text().contains("interrupted"));
    backend.script = {"A:Once upon a time."};
    auto* regen    = w.assistantWidgets()[0]->findChild<QPushButton*>("regenerateButton");
    ASSERT_TRUE(regen->isVisible());
    QTest::mouseClick(regen, Qt::LeftButton);
    ASSERT_TRUE(waitFor([&] { return !backend.busy(); }));
    EXPECT_EQ(backend.regenerations, 1);
    EXPECT_TRUE(w.assistantWidgets().last()->renderedAnswerPlainText().contains("Once upon a time."));
    // Edit the first user message and resend.
    auto* user = w.findChild<ui::UserMessageWidget*>();
    ASSERT_TRUE(user);
    QTest::mouseClick(user->findChild<QPushButton*>("editButton"), Qt::LeftButton);
    auto* editor = user->findChild<QPlainTextEdit*>();
    editor->setPlainText("Tell me a poem");
    QTest::mouseClick(user->findChild<QPushButton*>("resendButton"), Qt::LeftButton);
    EXPECT_EQ(backend.edits, 1);
    ASSERT_TRUE(waitFor([&] { return !backend.busy(); }));
    EXPECT_EQ(w.findChildren<ui::UserMessageWidget*>().size(), 1);
}

TEST(MainWindow, AttachmentLimitsAreExplainedAndBlockSend) {
    test::FakeBackend backend;
    ui::MainWindow    w(&backend);
    w.show();
    ui::Composer* c   = w.composer();
    const QString img = QString::fromStdString(test::tiny_dir() + "/images/small.png");
    const QString vid = QString::fromStdString(test::tiny_dir() + "/images/video.mkv");
    c->addFiles({img});
    c->editor()->setPlainText("hi");
    EXPECT_TRUE(c->canSend());
    c->addFiles({vid}); // mixing images and a video
    EXPECT_FALSE(c->canSend());
    EXPECT_TRUE(c->limitsExplanation().contains("cannot be mixed")) << c->limitsExplanation().toStdString();
    auto chips = c->findChildren<QToolButton*>("removeAttachment");
    ASSERT_EQ(chips.size(), 2);
    QTest::mouseClick(chips[1], Qt::LeftButton);
    QTest::qWait(20);
    EXPECT_TRUE(c->canSend());
    c->addFiles({img, img}); // 3 images > the limit of 2 in the fake settings
    EXPECT_FALSE(c->canSend());
    EXPECT_TRUE(c->limitsExplanation().contains("At most 2 images"));
    c->clearAll();
    c->addFiles({"/tmp/slides.pptx"}); // LibreOffice not available in the fake
    EXPECT_TRUE(c->limitsExplanation().contains("LibreOffice"));
    c->clearAll();
    c->addFiles({QString::fromStdString(test::tiny_dir() + "/reference.json")});
    EXPECT_TRUE(c->limitsExplanation().contains("not an image, video or document"));
    c->clearAll();
    c->addFiles({"/tmp/doc.pdf"});
    auto* pages = c->findChild<QLineEdit*>("pageRange");
    ASSERT_TRUE(pages);
    QTest::keyClicks(pages, "2-1");
    EXPECT_FALSE(c->canSend());
    pages->clear();
    QTest::keyClicks(pages, "2-3");
    c->editor()->setPlainText("Summarise");
    EXPECT_TRUE(c->canSend());
    auto atts = c->attachments();
    ASSERT_EQ(atts.size(), 1);
    EXPECT_EQ(atts[0].firstPage, 2);
    EXPECT_EQ(atts[0].lastPage, 3);
}

TEST(DownloadDialog, ShowsSizeAndMemoryThenProgressAndSwitchesToTheModel) {
    test::FakeBackend  backend;
    ui::DownloadDialog d(&backend);
    d.show();
    auto* info = d.findChild<QLabel*>("downloadInfo");
    QTest::mouseClick(d.findChild<QPushButton*>("checkDownload"), Qt::LeftButton);
    EXPECT_TRUE(info->text().contains("3 files")) << info->text().toStdString();
    EXPECT_TRUE(info->text().contains("q4")) << info->text().toStdString();
    d.findChild<QLineEdit*>("repo")->setText("bad/repo");
    EXPECT_TRUE(d.folder().endsWith("/repo"));
    QTest::mouseClick(d.findChild<QPushButton*>("checkDownload"), Qt::LeftButton);
    EXPECT_TRUE(info->text().contains("no repository")) << info->text().toStdString();
    QTest::mouseClick(d.findChild<QPushButton*>("startDownload"), Qt::LeftButton);
    EXPECT_EQ(d.findChild<QProgressBar*>("downloadProgress")->value(), 1000);
    EXPECT_TRUE(d.findChild<QLabel*>("downloadProgressText")->text().contains("verified"));
    auto* use = d.findChild<QPushButton*>("useModel");
    ASSERT_TRUE(use->isEnabled());
    QTest::mouseClick(use, Qt::LeftButton);
    EXPECT_EQ(backend.m_settings.value("modelDir").toString(), d.folder());
}

// The prompt arithmetic choice shows the backend's setting and hands back the one picked, by its engine name.
TEST(SettingsDialog, PromptArithmeticShowsAndReturnsTheChoice) {
    test::FakeBackend backend;
    backend.m_settings["promptArithmetic"] = "exact";
    ui::SettingsDialog d(&backend);
    auto*              box = d.findChild<QComboBox*>("promptArithmetic");
    ASSERT_NE(box, nullptr);
    EXPECT_EQ(box->count(), 3);
    EXPECT_EQ(box->currentData().toString(), "exact");
    EXPECT_EQ(d.values().value("promptArithmetic").toString(), "exact");
    box->setCurrentIndex(box->findData("bf16"));
    EXPECT_EQ(d.values().value("promptArithmetic").toString(), "bf16");
    backend.m_settings.remove("promptArithmetic"); // never set: automatic
    ui::SettingsDialog fresh(&backend);
    EXPECT_EQ(fresh.values().value("promptArithmetic").toString(), "auto");
}

int main(int argc, char** argv) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
