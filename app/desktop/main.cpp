// glmv-desktop: the GLM-V Desktop application.
//
//   glmv-desktop [--model DIR] [--data-dir DIR] [--screenshot FILE.png --screenshot-after-ms N]
//
// --model sets the model folder (saved, as if chosen in Settings; without it the saved folder or the bundled demo
// model is used); --data-dir keeps conversations
// somewhere else than the user's data folder; --screenshot saves the window after N ms and quits (used to check
// the UI under Xvfb).
#include <QApplication>
#include <QCommandLineParser>
#include <QIcon>
#include <QStandardPaths>
#include <QTimer>
#include <cstring>

#include "engine_backend.h"
#include "glmv/common/log.h"
#include "glmv/ui/main_window.h"

namespace {

void set_application_identity() {
    QCoreApplication::setOrganizationName("GLM-V");
    QCoreApplication::setApplicationName("GLM-V Desktop");
    QCoreApplication::setApplicationVersion(GLMV_VERSION);
}

bool asks_for_help_or_version(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        for (const char* flag : {"--help", "-h", "-?", "--help-all", "--version", "-v"})
            if (!std::strcmp(argv[i], flag)) return true;
    return false;
}

} // namespace

int main(int argc, char** argv) {
    QCommandLineParser p;
    p.setApplicationDescription("Chat with GLM-4.1V about images, videos and documents, offline.");
    p.addHelpOption();
    p.addVersionOption();
    QCommandLineOption model("model", "Model folder (saved for later runs; default: the bundled demo model).", "dir");
    QCommandLineOption data("data-dir", "Folder for conversations and attachments.", "dir");
    QCommandLineOption shot("screenshot", "Save a screenshot of the window and quit.", "file");
    QCommandLineOption shotAfter("screenshot-after-ms", "Delay before the screenshot.", "ms", "1500");
    QCommandLineOption ask("ask", "Send this question at start (with --attach files).", "text");
    QCommandLineOption attach("attach", "Attach this file to --ask.", "file");
    p.addOptions({model, data, shot, shotAfter, ask, attach});

    // --help and --version must work without a display (packaging checks, ssh sessions): answer them before a
    // QApplication tries to connect to one.
    if (asks_for_help_or_version(argc, argv)) {
        QCoreApplication core(argc, argv);
        set_application_identity();
        p.process(core); // prints and exits
        return 0;
    }

    QApplication app(argc, argv);
    set_application_identity();
    QApplication::setWindowIcon(QIcon(":/icons/glmv-desktop.svg"));
    QApplication::setDesktopFileName("glmv-desktop");
    glmv::log_set([](glmv::LogLevel lvl, const char* msg) {
        if (lvl >= glmv::LogLevel::warn) qWarning("%s", msg);
        else qInfo("%s", msg);
    });
    p.process(app);

    if (p.isSet(model)) {
        glmv::app::AppSettings s = glmv::app::AppSettings::load();
        s.modelDir               = p.value(model);
        s.save();
    }
    const QString dataDir = p.isSet(data) ? p.value(data) : QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    glmv::desktop::EngineBackend backend(dataDir);
    glmv::ui::MainWindow         window(&backend);
    window.show();
    if (p.isSet(ask)) {
        QObject::connect(&backend, &glmv::ui::ChatBackend::modelStatusChanged, &window, [&] {
            static bool sent = false;
            if (sent || !backend.modelReady()) return;
            sent = true;
            window.submitPrompt(p.value(ask), p.values(attach));
        });
    }
    if (p.isSet(shot)) {
        QTimer::singleShot(p.value(shotAfter).toInt(), &window, [&] {
            window.grab().save(p.value(shot));
            app.quit();
        });
    }
    return app.exec();
}
