// The whole desktop stack with no fakes: the real widgets, the EngineBackend, the SQLite store and the embedded
// engine on its worker thread, running a small random-weight GLM-4.1V checkpoint with the real tokenizer (made here
// by glmv-bench make-checkpoint). Random weights give gibberish, so the test checks plumbing and persistence:
// streaming reaches the widgets, the answer is saved, a restart finds the conversation, Stop interrupts.
#include <gtest/gtest.h>

#include <QApplication>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QTest>
#include <fstream>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "composer.h"
#include "engine_backend.h"
#include "glmv/inference/quantize.h"
#include "glmv/ui/main_window.h"
#include "message_widgets.h"
#include "test_util.h"

using namespace glmv;

namespace {

bool waitFor(const std::function<bool()>& cond, int ms) {
    for (int i = 0; i < ms / 10; ++i) {
        if (cond()) return true;
        QTest::qWait(10);
    }
    return cond();
}

// A 2-layer model with the real GLM-4.1V vocabulary and special ids.
std::string make_small_model(const test::TempDir& dir) {
    namespace fs = std::filesystem;
    const std::string cfg_dir = dir.file("cfg"), model = dir.file("model");
    fs::create_directories(cfg_dir);
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "video_preprocessor_config.json"})
        fs::copy_file(test::assets_dir() + "/" + f, cfg_dir + "/" + f);
    std::ifstream  in(test::assets_dir() + "/config.json");
    nlohmann::json c = nlohmann::json::parse(in);
    c["hidden_size"] = 128, c["intermediate_size"] = 256, c["num_hidden_layers"] = 2, c["num_attention_heads"] = 4;
    c["vision_config"]["hidden_size"] = 64, c["vision_config"]["depth"] = 2, c["vision_config"]["num_heads"] = 4;
    c["vision_config"]["intermediate_size"] = 96, c["vision_config"]["out_hidden_size"] = 128;
    c["rope_scaling"]["mrope_section"] = {2, 3, 3};
    std::ofstream(cfg_dir + "/config.json") << c.dump();
    const std::string cmd = std::string(GLMV_BENCH) + " make-checkpoint --config " + cfg_dir + "/config.json --out " + model + " 2>/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return model;
}

} // namespace

TEST(DesktopApp, AskAboutAnImageStreamPersistRestartAndStop) {
    test::TempDir dir("glmv-desktop");
    const QString data = QString::fromStdString(dir.file("data"));
    QSettings().setValue("model/dir", QString::fromStdString(make_small_model(dir)));
    QSettings().setValue("sampling/maxNewTokens", 24);
    qint64 conv = 0;
    {
        desktop::EngineBackend backend(data);
        ui::MainWindow         w(&backend);
        w.show();
        ASSERT_TRUE(waitFor([&] { return backend.modelReady(); }, 30000)) << backend.modelStatus().toStdString();
        int deltas = 0;
        QObject::connect(&backend, &ui::ChatBackend::answerDelta, [&] { ++deltas; });
        w.submitPrompt("What is in this picture?", {QString::fromStdString(test::tiny_dir() + "/images/small.png")});
        ASSERT_TRUE(waitFor([&] { return backend.busy(); }, 5000));
        ASSERT_TRUE(waitFor([&] { return !backend.busy(); }, 60000));
        EXPECT_GT(deltas, 0);
        ASSERT_EQ(w.assistantWidgets().size(), 1);
        EXPECT_FALSE(w.assistantWidgets()[0]->answerText().isEmpty());
        EXPECT_TRUE(w.assistantWidgets()[0]->findChild<QLabel*>("statsLabel")->text().contains("tokens/s"));
        conv = w.currentConversation();
        auto msgs = backend.store().messages(conv);
        ASSERT_EQ(msgs.size(), 2);
        EXPECT_EQ(msgs[1].state, "complete");
        EXPECT_EQ(msgs[1].completionTokens, 24);
        EXPECT_EQ(msgs[0].attachments.size(), 1);
    }
    {
        // Restart: the conversation, its attachment copy and the answer are all there.
        QSettings().setValue("sampling/maxNewTokens", 100000);
        desktop::EngineBackend backend(data);
        ui::MainWindow         w(&backend);
        w.show();
        EXPECT_EQ(w.currentConversation(), conv);
        EXPECT_EQ(w.assistantWidgets().size(), 1);
        ASSERT_TRUE(waitFor([&] { return backend.modelReady(); }, 30000));
        // A long answer, stopped: it ends within a moment and is kept, marked interrupted.
        w.submitPrompt("Tell me more.", {});
        ASSERT_TRUE(waitFor([&] { return backend.busy(); }, 5000));
        QTest::qWait(300);
        QTest::mouseClick(w.findChild<QPushButton*>("stopButton"), Qt::LeftButton);
        ASSERT_TRUE(waitFor([&] { return !backend.busy(); }, 5000));
        auto msgs = backend.store().messages(conv);
        ASSERT_EQ(msgs.size(), 4);
        EXPECT_EQ(msgs[3].state, "interrupted");
    }
}

// The status line names the weights the model runs in: quantised at load as Settings asks, or a folder's own format
// when glmv-cli quantize wrote it (such a folder stays q4 under a "bf16" setting).
TEST(DesktopApp, StatusNamesTheWeightsTheModelRunsIn) {
    test::TempDir     dir("glmv-weights");
    const std::string model = make_small_model(dir), q4 = dir.file("model-q4");
    QuantizeParams    qp;
    qp.weights = WeightFormat::q4;
    ASSERT_TRUE(quantize_model(model, q4, qp).ok());
    auto status_with = [&](const std::string& folder, const QString& weights) {
        QSettings().setValue("model/dir", QString::fromStdString(folder));
        QSettings().setValue("model/weights", weights);
        desktop::EngineBackend backend(QString::fromStdString(dir.file("data")));
        EXPECT_TRUE(waitFor([&] { return backend.modelReady(); }, 30000)) << backend.modelStatus().toStdString();
        return backend.modelStatus();
    };
    const QString at_load = status_with(model, "q8");
    EXPECT_TRUE(at_load.endsWith("· q8")) << at_load.toStdString();
    const QString stored = status_with(q4, "bf16");
    EXPECT_TRUE(stored.contains("· q4 (as stored in the folder)")) << stored.toStdString();
    QSettings().setValue("model/weights", "bf16");
}

// A new prompt arithmetic reloads the model with it and is kept for the next start.
TEST(DesktopApp, PromptArithmeticReloadsTheModelAndPersists) {
    test::TempDir     dir("glmv-arith");
    const std::string model = make_small_model(dir);
    QSettings().setValue("model/dir", QString::fromStdString(model));
    {
        desktop::EngineBackend backend(QString::fromStdString(dir.file("data")));
        ASSERT_TRUE(waitFor([&] { return backend.modelReady(); }, 30000)) << backend.modelStatus().toStdString();
        EXPECT_EQ(backend.settings().value("promptArithmetic").toString(), "auto");
        QVariantMap v         = backend.settings();
        v["promptArithmetic"] = "exact";
        backend.applySettings(v);
        EXPECT_FALSE(backend.modelReady()); // reloading
        ASSERT_TRUE(waitFor([&] { return backend.modelReady(); }, 30000)) << backend.modelStatus().toStdString();
    }
    EXPECT_EQ(QSettings().value("engine/promptArithmetic").toString(), "exact");
    desktop::EngineBackend again(QString::fromStdString(dir.file("data")));
    EXPECT_EQ(again.settings().value("promptArithmetic").toString(), "exact");
    ASSERT_TRUE(waitFor([&] { return again.modelReady(); }, 30000)) << again.modelStatus().toStdString();
    QSettings().setValue("engine/promptArithmetic", "auto");
}

TEST(DesktopApp, RemoteBackendTalksToAnOpenAICompatibleServer) {
    test::TempDir dir("glmv-remote");
    const std::string model = make_small_model(dir);
    const int         port  = 21000 + int(::getpid() % 20000);
    const std::string cmd   = std::string(GLMV_SERVER) + " --model " + model + " --port " + std::to_string(port) +
                            " --api-key k > " + dir.file("server.log") + " 2>&1 & echo $! > " + dir.file("pid");
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    QSettings().setValue("backend/kind", "remote");
    QSettings().setValue("backend/remoteUrl", QString("http://127.0.0.1:%1/v1").arg(port));
    QSettings().setValue("backend/remoteApiKey", "k");
    QSettings().setValue("sampling/maxNewTokens", 12);
    {
        desktop::EngineBackend backend(QString::fromStdString(dir.file("data")));
        // The server needs a moment to load; the backend retries when settings are re-applied.
        for (int i = 0; i < 50 && !backend.modelReady(); ++i) {
            QTest::qWait(200);
            if (!backend.modelReady() && i % 5 == 4) backend.loadModel();
        }
        ASSERT_TRUE(waitFor([&] { return backend.modelReady(); }, 10000)) << backend.modelStatus().toStdString();
        EXPECT_TRUE(backend.modelStatus().contains("127.0.0.1")) << backend.modelStatus().toStdString();
        ui::MainWindow w(&backend);
        w.submitPrompt("What is this?", {QString::fromStdString(test::tiny_dir() + "/images/small.png")});
        ASSERT_TRUE(waitFor([&] { return backend.busy(); }, 5000));
        ASSERT_TRUE(waitFor([&] { return !backend.busy(); }, 60000));
        auto msgs = backend.store().messages(w.currentConversation());
        ASSERT_EQ(msgs.size(), 2);
        EXPECT_EQ(msgs[1].state, "complete");
        EXPECT_FALSE(msgs[1].text.isEmpty());
    }
    std::system(("kill $(cat " + dir.file("pid") + ")").c_str());
    QSettings().setValue("backend/kind", "embedded");
}

int main(int argc, char** argv) {
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QApplication::setOrganizationName("GLM-V-tests");
    QApplication::setApplicationName("test_desktop_app");
    test::TempDir settings("glmv-settings");
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, QString::fromStdString(settings.path()));
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
