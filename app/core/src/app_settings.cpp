#include "glmv/app/app_settings.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QSettings>

namespace glmv::app {

AppSettings AppSettings::load() {
    QSettings   s;
    AppSettings a;
    a.modelDir          = s.value("model/dir", a.modelDir).toString();
    a.weights           = s.value("model/weights", a.weights).toString();
    a.backend           = s.value("backend/kind", a.backend).toString();
    a.remoteUrl         = s.value("backend/remoteUrl", a.remoteUrl).toString();
    a.remoteApiKey      = s.value("backend/remoteApiKey", a.remoteApiKey).toString();
    a.remoteModel       = s.value("backend/remoteModel", a.remoteModel).toString();
    a.temperature       = s.value("sampling/temperature", a.temperature).toDouble();
    a.topP              = s.value("sampling/topP", a.topP).toDouble();
    a.topK              = s.value("sampling/topK", a.topK).toInt();
    a.repetitionPenalty = s.value("sampling/repetitionPenalty", a.repetitionPenalty).toDouble();
    a.maxNewTokens      = s.value("sampling/maxNewTokens", a.maxNewTokens).toInt();
    a.seed              = s.value("sampling/seed", a.seed).toLongLong();
    a.thinkingBudget    = s.value("sampling/thinkingBudget", a.thinkingBudget).toInt();
    a.enableThinking    = s.value("sampling/enableThinking", a.enableThinking).toBool();
    a.maxImagePixels    = s.value("media/maxImagePixels", a.maxImagePixels).toLongLong();
    a.threads           = s.value("engine/threads", a.threads).toInt();
    a.promptArithmetic  = s.value("engine/promptArithmetic", a.promptArithmetic).toString();
    a.maxImagesPerTurn  = qBound(1, s.value("media/maxImagesPerTurn", a.maxImagesPerTurn).toInt(), 300);
    a.pdfDpi            = s.value("media/pdfDpi", a.pdfDpi).toDouble();
    a.maxPdfPages       = s.value("media/maxPdfPages", a.maxPdfPages).toInt();
    return a;
}

void AppSettings::save() const {
    QSettings s;
    s.setValue("model/dir", modelDir);
    s.setValue("model/weights", weights);
    s.setValue("backend/kind", backend);
    s.setValue("backend/remoteUrl", remoteUrl);
    s.setValue("backend/remoteApiKey", remoteApiKey);
    s.setValue("backend/remoteModel", remoteModel);
    s.setValue("sampling/temperature", temperature);
    s.setValue("sampling/topP", topP);
    s.setValue("sampling/topK", topK);
    s.setValue("sampling/repetitionPenalty", repetitionPenalty);
    s.setValue("sampling/maxNewTokens", maxNewTokens);
    s.setValue("sampling/seed", seed);
    s.setValue("sampling/thinkingBudget", thinkingBudget);
    s.setValue("sampling/enableThinking", enableThinking);
    s.setValue("media/maxImagePixels", maxImagePixels);
    s.setValue("engine/threads", threads);
    s.setValue("engine/promptArithmetic", promptArithmetic);
    s.setValue("media/maxImagesPerTurn", maxImagesPerTurn);
    s.setValue("media/pdfDpi", pdfDpi);
    s.setValue("media/maxPdfPages", maxPdfPages);
}

QString AppSettings::bundledModelDir() {
    const QString exe = QCoreApplication::applicationDirPath();
    // Installed (…/bin → …/share/glmv-desktop/demo-model), or the build tree (build/app/desktop → resources/).
    for (const QString& candidate : {exe + "/../share/glmv-desktop/demo-model", exe + "/../../../resources/demo-model",
                                     exe + "/../../resources/demo-model", QString(GLMV_SOURCE_RESOURCES) + "/demo-model"})
        if (QFileInfo::exists(candidate + "/config.json")) return QDir(candidate).canonicalPath();
    return QString(GLMV_SOURCE_RESOURCES) + "/demo-model";
}

} // namespace glmv::app
