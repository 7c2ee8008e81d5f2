// User settings persisted with QSettings. Defaults follow the official demo (trans_infer_gradio.py): top-k 2,
// top-p 1e-5, repetition penalty 1.1, 8192 new tokens; per-turn limits of at most 10 images, or one video, or one
// document, never mixed (adjustable up to 300 images, what the model supports).
#pragma once

#include <QString>

namespace glmv::app {

struct AppSettings {
    QString modelDir;              // empty = the bundled demo model
    QString weights       = "bf16"; // bf16 | q8 | q4
    QString backend       = "embedded"; // embedded | remote
    QString remoteUrl;             // e.g. http://localhost:8000/v1
    QString remoteApiKey;
    QString remoteModel;
    double  temperature       = 1.0;
    double  topP              = 1e-5;
    int     topK              = 2;
    double  repetitionPenalty = 1.1;
    int     maxNewTokens      = 8192;
    qint64  seed              = 0;
    int     thinkingBudget    = -1; // -1 = unlimited
    bool    enableThinking    = true;
    qint64  maxImagePixels    = 9633792;
    int     threads           = 0; // 0 = one per physical core (OMP_NUM_THREADS overrides)
    // Products of prompts and images: auto (bf16 where the CPU multiplies bf16 natively) | exact (fp32) | bf16
    // (glmv::PromptArithmetic).
    QString promptArithmetic  = "auto";
    int     maxImagesPerTurn  = 10;
    double  pdfDpi            = 180;
    int     maxPdfPages       = 50;

    static AppSettings load();
    void               save() const;
    // The folder of the demo model shipped with the app (resources/demo-model next to the binary or installed).
    static QString     bundledModelDir();
    QString            effectiveModelDir() const { return modelDir.isEmpty() ? bundledModelDir() : modelDir; }
};

} // namespace glmv::app
