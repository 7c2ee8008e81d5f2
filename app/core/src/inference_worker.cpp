#include "glmv/app/inference_worker.h"

#include <QDir>

namespace glmv::app {

InferenceWorker::InferenceWorker() {
    qRegisterMetaType<GenerationRequest>();
    qRegisterMetaType<GenerationOutcome>();
}

InferenceWorker::~InferenceWorker() = default;

void InferenceWorker::stop() {
    m_stopRequested = true;
    std::lock_guard<std::mutex> lock(m_engineMutex);
    if (m_engine) m_engine->cancel();
}

void InferenceWorker::loadModel(const QString& dir, const QString& weights, int threads,
                                const QString& promptArithmetic) {
    m_ready = false;
    {
        std::lock_guard<std::mutex> lock(m_engineMutex);
        m_engine.reset();
    }
    LoadParams lp;
    lp.weights   = weight_format_named(weights.toStdString());
    lp.n_threads = threads;
    lp.prompt_arithmetic =
        prompt_arithmetic_named(promptArithmetic.toStdString()).value_or(PromptArithmetic::automatic);
    auto e       = pipeline::ChatEngine::open(QDir(dir).absolutePath().toStdString(), lp);
    if (!e) {
        emit modelLoaded(false, QString::fromStdString(e.status().message()), {});
        return;
    }
    const QString loaded = weight_format_name(e.value()->weight_format());
    {
        std::lock_guard<std::mutex> lock(m_engineMutex);
        m_engine = std::move(e.value());
    }
    m_ready = true;
    emit modelLoaded(true, QString("Model loaded from %1").arg(dir), loaded);
}

void InferenceWorker::connectRemote(const QString& url, const QString& apiKey, const QString& model) {
    m_ready = false;
    {
        std::lock_guard<std::mutex> lock(m_engineMutex);
        m_engine.reset();
    }
    auto c = pipeline::RemoteChatClient::connect({url.toStdString(), apiKey.toStdString(), model.toStdString()});
    if (!c) {
        emit modelLoaded(false, QString::fromStdString(c.status().message()), {});
        return;
    }
    const QString name = QString::fromStdString(c.value()->description());
    {
        std::lock_guard<std::mutex> lock(m_engineMutex);
        m_engine = std::move(c.value());
    }
    m_ready = true;
    emit modelLoaded(true, QString("Connected to %1").arg(name), {});
}

void InferenceWorker::generate(const GenerationRequest& req) {
    GenerationOutcome out;
    out.requestId = req.requestId;
    if (!m_engine) {
        out.failed = true;
        out.error  = "No model is loaded. Choose a model folder in Settings.";
        emit finished(out);
        return;
    }
    m_stopRequested = false;
    // Coalesce deltas: flush at most every 33 ms (≤ 30 updates/s), and whenever the channel changes.
    QElapsedTimer clock, sinceFlush;
    clock.start();
    sinceFlush.start();
    QString pending;
    int     pendingChannel = -1;
    bool    pendingBoxed   = false;
    double  thinkingEndMs  = -1;
    auto flush = [&] {
        if (!pending.isEmpty()) emit textDelta(req.requestId, pendingChannel, pending, pendingBoxed);
        pending.clear();
        sinceFlush.restart();
    };
    auto r = m_engine->run(req.turns, req.settings, [&](const StreamSegment& s) {
        const int channel = s.channel == StreamChannel::thinking ? 0 : 1;
        if (channel == 1 && thinkingEndMs < 0) thinkingEndMs = double(clock.elapsed());
        if (channel != pendingChannel || s.boxed != pendingBoxed) flush();
        pendingChannel = channel;
        pendingBoxed   = s.boxed;
        pending += QString::fromStdString(s.text);
        if (sinceFlush.elapsed() >= 33) flush();
    });
    flush();
    if (!r) {
        out.failed = true;
        out.error  = QString::fromStdString(r.status().message());
        emit finished(out);
        return;
    }
    out.thinking         = QString::fromStdString(r->thinking);
    out.answer           = QString::fromStdString(r->answer);
    out.cancelled        = r->gen.stop == GenerationResult::Stop::cancelled || m_stopRequested;
    out.ttftMs           = r->gen.time_to_first_token_ms;
    out.completionTokens = r->completion_tokens;
    out.promptTokens     = r->gen.prompt_tokens;
    out.reusedTokens     = r->gen.reused_tokens;
    out.tokensPerSecond  = r->gen.decode_ms > 0 ? double(r->completion_tokens) / (r->gen.decode_ms / 1000.0) : 0;
    out.thinkingMs       = thinkingEndMs >= 0 ? thinkingEndMs : (out.thinking.isEmpty() ? 0 : double(clock.elapsed()));
    emit finished(out);
}

} // namespace glmv::app
