// The one inference worker: a QObject that lives on its own QThread and owns the ChatEngine (the gpt4all pattern).
// Requests arrive as queued slot calls; text leaves as queued signals, coalesced to at most ~30 updates per second.
// stop() is the exception: any thread may call it directly, and the running turn ends within one token.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <atomic>
#include <mutex>
#include <memory>
#include <vector>

#include "glmv/pipeline/chat_engine.h"
#include "glmv/pipeline/remote_client.h"

namespace glmv::app {

struct GenerationRequest {
    qint64                         requestId = 0;
    std::vector<pipeline::Turn>    turns;
    pipeline::ChatSettings         settings;
};

struct GenerationOutcome {
    qint64  requestId = 0;
    QString thinking, answer;
    bool    cancelled = false;
    bool    failed    = false;
    QString error;
    double  ttftMs = 0, tokensPerSecond = 0, thinkingMs = 0;
    qint64  completionTokens = 0, promptTokens = 0, reusedTokens = 0;
};

class InferenceWorker : public QObject {
    Q_OBJECT
  public:
    InferenceWorker();
    ~InferenceWorker() override;

    // Thread-safe.
    void stop();
    bool modelReady() const { return m_ready.load(); }

  public slots:
    // promptArithmetic: "auto", "exact" or "bf16" (glmv::PromptArithmetic; any other value means auto).
    void loadModel(const QString& dir, const QString& weights, int threads, const QString& promptArithmetic);
    // A remote OpenAI-compatible server (vLLM, SGLang, glmv-server) instead of the embedded engine.
    void connectRemote(const QString& url, const QString& apiKey, const QString& model);
    void generate(const glmv::app::GenerationRequest& request);

  signals:
    // weights: "bf16", "q8" or "q4" as loaded (empty for a remote server).
    void modelLoaded(bool ok, const QString& message, const QString& weights);
    // channel: 0 thinking, 1 answer. Deltas are coalesced.
    void textDelta(qint64 requestId, int channel, const QString& text, bool boxed);
    void finished(const glmv::app::GenerationOutcome& outcome);

  private:
    std::unique_ptr<pipeline::ChatRunner> m_engine;
    std::mutex                            m_engineMutex; // guards m_engine against stop() from other threads
    std::atomic<bool>                     m_ready{false};
    std::atomic<bool>                     m_stopRequested{false};
};

} // namespace glmv::app

Q_DECLARE_METATYPE(glmv::app::GenerationRequest)
Q_DECLARE_METATYPE(glmv::app::GenerationOutcome)
