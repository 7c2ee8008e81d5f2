#include "engine_backend.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include "glmv/inference/model_config.h"
#include "glmv/media/office.h"
#include "glmv/media/pdf.h"
#include "glmv/pipeline/hub_download.h"

namespace glmv::desktop {

namespace {
// The settings whose change needs the model reloaded or the server reconnected.
struct AppSettingsSnapshot {
    QString modelDir, weights, backend, remoteUrl, remoteApiKey, remoteModel;
    int     threads;
    QString promptArithmetic;
    bool    operator==(const AppSettingsSnapshot&) const = default;
};
} // namespace

EngineBackend::EngineBackend(const QString& dataDir, QObject* parent) : ui::ChatBackend(parent) {
    m_settings = app::AppSettings::load();
    if (!m_store.open(dataDir)) m_status = m_store.lastError();
    m_worker = new app::InferenceWorker;
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    connect(m_worker, &app::InferenceWorker::modelLoaded, this,
            [this](bool ok, const QString& msg, const QString& weights) {
                m_ready = ok;
                // The weights the model really runs in: a folder quantised by glmv-cli keeps its own format whatever
                // Settings asks for, and the status says so rather than echoing the setting.
                const QString name = QDir(m_settings.effectiveModelDir()).dirName();
                m_status           = !ok                              ? msg
                                     : m_settings.backend == "remote" ? tr("Ready · %1").arg(msg)
                                     : weights == m_settings.weights
                                         ? tr("Ready · %1 · %2").arg(name, weights)
                                         : tr("Ready · %1 · %2 (as stored in the folder)").arg(name, weights);
                emit modelStatusChanged();
                if (!ok) emit errorOccurred(tr("The model could not be loaded: %1").arg(msg));
            });
    connect(m_worker, &app::InferenceWorker::textDelta, this, &EngineBackend::onDelta);
    connect(m_worker, &app::InferenceWorker::finished, this, &EngineBackend::onFinished);
    m_thread.setObjectName("inference-worker");
    m_thread.start();
    if (m_store.isReadOnly() && !m_store.lastError().isEmpty()) m_status = m_store.lastError();
    loadModel();
}

EngineBackend::~EngineBackend() {
    m_cancelDownload = true;
    if (m_downloadThread.joinable()) m_downloadThread.join();
    m_worker->stop();
    m_thread.quit();
    m_thread.wait();
}

void EngineBackend::loadModel() {
    m_ready  = false;
    if (m_settings.backend == "remote") {
        m_status = tr("Connecting to %1…").arg(m_settings.remoteUrl);
        emit modelStatusChanged();
        QMetaObject::invokeMethod(m_worker, "connectRemote", Qt::QueuedConnection, Q_ARG(QString, m_settings.remoteUrl),
                                  Q_ARG(QString, m_settings.remoteApiKey), Q_ARG(QString, m_settings.remoteModel));
        return;
    }
    m_status = tr("Loading the model…");
    emit modelStatusChanged();
    QMetaObject::invokeMethod(m_worker, "loadModel", Qt::QueuedConnection,
                              Q_ARG(QString, m_settings.effectiveModelDir()), Q_ARG(QString, m_settings.weights),
                              Q_ARG(int, m_settings.threads), Q_ARG(QString, m_settings.promptArithmetic));
}

ui::MessageView EngineBackend::toView(const app::StoredMessage& m) {
    ui::MessageView v;
    v.id              = m.id;
    v.role            = m.role;
    v.text            = m.text;
    v.thinking        = m.thinking;
    v.state           = m.state;
    v.thinkingSeconds = m.thinkingMs / 1000.0;
    v.ttftMs          = m.ttftMs;
    v.tokensPerSecond = m.tokensPerSecond;
    v.tokens          = m.completionTokens;
    for (const app::StoredAttachment& a : m.attachments)
        v.attachments.push_back({a.kind, a.path, a.originalName, a.firstPage, a.lastPage});
    return v;
}

QList<ui::ConversationRef> EngineBackend::conversations(const QString& filter) {
    QList<ui::ConversationRef> out;
    for (const auto& c : m_store.conversations(filter)) out.push_back({c.id, c.title});
    return out;
}

qint64 EngineBackend::createConversation() {
    const qint64 id = m_store.createConversation(tr("New chat"));
    emit conversationsChanged();
    return id;
}

void EngineBackend::renameConversation(qint64 id, const QString& title) {
    m_store.renameConversation(id, title);
    emit conversationsChanged();
}

void EngineBackend::deleteConversation(qint64 id) {
    if (id == m_activeConversation) stop();
    m_store.deleteConversation(id);
    emit conversationsChanged();
}

void EngineBackend::restoreConversation(qint64 id) {
    m_store.restoreConversation(id);
    emit conversationsChanged();
}

QList<ui::MessageView> EngineBackend::messages(qint64 conversation) {
    QList<ui::MessageView> out;
    for (const auto& m : m_store.messages(conversation)) {
        ui::MessageView v = toView(m);
        if (m.id == m_activeMessage) { // the live message: what has streamed so far
            v.text     = m_answer;
            v.thinking = m_thinking;
            v.state    = "streaming";
        }
        out.push_back(v);
    }
    return out;
}

bool EngineBackend::exportConversation(qint64 id, const QString& path, bool json, QString* error) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly)) {
        if (error) *error = f.errorString();
        return false;
    }
    QString text = json ? m_store.exportJson(id) : m_store.exportMarkdown(id);
    text.replace(ui::kBoxOpen, json ? "<|begin_of_box|>" : "**").replace(ui::kBoxClose, json ? "<|end_of_box|>" : "**");
    f.write(text.toUtf8());
    if (!f.commit()) {
        if (error) *error = f.errorString();
        return false;
    }
    return true;
}

void EngineBackend::send(qint64 conversation, const QString& text, const QList<ui::AttachmentRef>& attachments) {
    if (busy()) return;
    app::StoredMessage m;
    m.role = "user";
    m.text = text;
    for (const ui::AttachmentRef& a : attachments)
        m.attachments.push_back({a.kind, a.path, a.displayName, QString(), a.firstPage, a.lastPage});
    if (!m_store.addMessage(conversation, m)) {
        emit errorOccurred(tr("Your message could not be saved: %1").arg(m_store.lastError()));
        return;
    }
    if (m_store.title(conversation) == tr("New chat") && !text.isEmpty())
        m_store.renameConversation(conversation, text.left(48).simplified());
    emit conversationsChanged();
    startGeneration(conversation);
}

void EngineBackend::regenerate(qint64 conversation) {
    if (busy()) return;
    const auto msgs = m_store.messages(conversation);
    if (msgs.isEmpty() || msgs.last().role != "assistant") return;
    m_store.truncateFrom(conversation, msgs.last().id);
    startGeneration(conversation);
}

void EngineBackend::editAndResend(qint64 conversation, qint64 messageId, const QString& text) {
    if (busy()) return;
    const auto msgs = m_store.messages(conversation);
    for (int i = 0; i < msgs.size(); ++i) {
        if (msgs[i].id != messageId) continue;
        m_store.updateMessageText(messageId, text);
        if (i + 1 < msgs.size()) m_store.truncateFrom(conversation, msgs[i + 1].id);
        startGeneration(conversation);
        return;
    }
}

void EngineBackend::startGeneration(qint64 conversation) {
    if (!m_ready) {
        emit errorOccurred(tr("No model is ready (%1). Choose a model folder in Settings, or File → Download a model….")
                               .arg(m_status));
        emit messagesReset(conversation);
        return;
    }
    app::GenerationRequest req;
    for (const app::StoredMessage& m : m_store.messages(conversation)) {
        pipeline::Turn t;
        t.role = m.role.toStdString();
        QString text = m.text;
        text.remove(ui::kBoxOpen).remove(ui::kBoxClose);
        t.text = text.toStdString();
        for (const app::StoredAttachment& a : m.attachments) {
            pipeline::Attachment at;
            at.kind       = a.kind == "video" ? pipeline::Attachment::Kind::video
                            : a.kind == "pdf" ? pipeline::Attachment::Kind::pdf
                                              : pipeline::Attachment::Kind::image;
            at.path       = a.path.toStdString();
            at.first_page = a.firstPage;
            at.last_page  = a.lastPage;
            t.attachments.push_back(std::move(at));
        }
        req.turns.push_back(std::move(t));
    }
    app::StoredMessage a;
    a.role  = "assistant";
    a.state = "streaming";
    const qint64 id = m_store.addMessage(conversation, a);
    if (!id) {
        emit errorOccurred(tr("The reply could not be saved: %1").arg(m_store.lastError()));
        return;
    }
    pipeline::ChatSettings& s       = req.settings;
    s.sampling.temperature          = float(m_settings.temperature);
    s.sampling.top_p                = float(m_settings.topP);
    s.sampling.top_k                = m_settings.topK;
    s.sampling.repetition_penalty   = float(m_settings.repetitionPenalty);
    s.sampling.seed                 = uint64_t(m_settings.seed);
    s.max_new_tokens                = m_settings.maxNewTokens;
    s.thinking_budget               = m_settings.thinkingBudget;
    s.enable_thinking               = m_settings.enableThinking;
    s.pdf_dpi                       = m_settings.pdfDpi;
    s.max_image_pixels              = m_settings.maxImagePixels;
    s.max_pdf_pages                 = m_settings.maxPdfPages;
    req.requestId                   = ++m_requestId;
    m_activeConversation            = conversation;
    m_activeMessage                 = id;
    m_answer.clear();
    m_thinking.clear();
    m_sinceCheckpoint.start();
    emit generationStarted(conversation, id);
    QMetaObject::invokeMethod(m_worker, [w = m_worker, req] { w->generate(req); }, Qt::QueuedConnection);
}

void EngineBackend::onDelta(qint64 requestId, int channel, const QString& text, bool boxed) {
    if (requestId != m_requestId || !m_activeMessage) return;
    if (channel == 0) {
        m_thinking += text;
        emit thinkingDelta(m_activeMessage, text);
    } else {
        m_answer += boxed ? ui::kBoxOpen + text + ui::kBoxClose : text;
        emit answerDelta(m_activeMessage, text, boxed);
    }
    // Partial answers reach the disk at most every 2 s, so a crash loses at most that much.
    if (m_sinceCheckpoint.elapsed() >= 2000) {
        m_store.checkpoint(m_activeMessage, m_answer, m_thinking);
        m_sinceCheckpoint.restart();
    }
}

void EngineBackend::onFinished(const app::GenerationOutcome& o) {
    if (o.requestId != m_requestId || !m_activeMessage) return;
    app::StoredMessage m;
    m.id               = m_activeMessage;
    m.role             = "assistant";
    m.text             = m_answer.isEmpty() && !o.answer.isEmpty() ? o.answer : m_answer;
    m.thinking         = m_thinking.isEmpty() ? o.thinking : m_thinking;
    m.state            = o.failed ? "error" : o.cancelled ? "interrupted" : "complete";
    m.thinkingMs       = qint64(o.thinkingMs);
    m.ttftMs           = o.ttftMs;
    m.tokensPerSecond  = o.tokensPerSecond;
    m.completionTokens = o.completionTokens;
    m_store.finishMessage(m.id, m);
    const qint64 id      = m_activeMessage;
    m_activeMessage      = 0;
    m_activeConversation = 0;
    if (o.failed) emit errorOccurred(o.error);
    emit generationFinished(id, toView(m));
}

void EngineBackend::stop() {
    if (m_worker) m_worker->stop();
}

QString EngineBackend::validateModelFolder(const QString& dirIn) const {
    const QString dir = dirIn.isEmpty() ? app::AppSettings::bundledModelDir() : dirIn;
    if (!QFileInfo(dir).isDir()) return tr("The folder does not exist.");
    QStringList missing;
    for (const char* f : {"config.json", "tokenizer.json", "preprocessor_config.json"})
        if (!QFileInfo::exists(dir + "/" + f)) missing << f;
    if (!QFileInfo::exists(dir + "/model.safetensors") && !QFileInfo::exists(dir + "/model.safetensors.index.json"))
        missing << "model.safetensors (or model.safetensors.index.json with its shards)";
    if (!missing.isEmpty())
        return tr("Missing: %1. Download the whole model folder (e.g. zai-org/GLM-4.1V-9B-Thinking).").arg(missing.join(", "));
    auto cfg = load_model_config((dir + "/config.json").toStdString());
    if (!cfg) return QString::fromStdString(cfg.status().message());
    return {};
}

QVariantMap EngineBackend::settings() const {
    const app::AppSettings& s = m_settings;
    return {{"backend", s.backend},
            {"remoteUrl", s.remoteUrl},
            {"remoteApiKey", s.remoteApiKey},
            {"remoteModel", s.remoteModel},
            {"modelDir", s.modelDir},
            {"weights", s.weights},
            {"temperature", s.temperature},
            {"topP", s.topP},
            {"topK", s.topK},
            {"repetitionPenalty", s.repetitionPenalty},
            {"maxNewTokens", s.maxNewTokens},
            {"seed", s.seed},
            {"thinkingBudget", s.thinkingBudget},
            {"enableThinking", s.enableThinking},
            {"maxImagePixels", s.maxImagePixels},
            {"threads", s.threads},
            {"promptArithmetic", s.promptArithmetic},
            {"maxImagesPerTurn", s.maxImagesPerTurn},
            {"pdfDpi", s.pdfDpi},
            {"maxPdfPages", s.maxPdfPages}};
}

void EngineBackend::applySettings(const QVariantMap& v) {
    app::AppSettings& s     = m_settings;
    const AppSettingsSnapshot before{s.modelDir,     s.weights,     s.backend, s.remoteUrl,
                                     s.remoteApiKey, s.remoteModel, s.threads, s.promptArithmetic};
    s.backend           = v.value("backend", s.backend).toString();
    s.remoteUrl         = v.value("remoteUrl", s.remoteUrl).toString();
    s.remoteApiKey      = v.value("remoteApiKey", s.remoteApiKey).toString();
    s.remoteModel       = v.value("remoteModel", s.remoteModel).toString();
    s.modelDir          = v.value("modelDir", s.modelDir).toString();
    s.weights           = v.value("weights", s.weights).toString();
    s.temperature       = v.value("temperature", s.temperature).toDouble();
    s.topP              = v.value("topP", s.topP).toDouble();
    s.topK              = v.value("topK", s.topK).toInt();
    s.repetitionPenalty = v.value("repetitionPenalty", s.repetitionPenalty).toDouble();
    s.maxNewTokens      = v.value("maxNewTokens", s.maxNewTokens).toInt();
    s.seed              = v.value("seed", s.seed).toLongLong();
    s.thinkingBudget    = v.value("thinkingBudget", s.thinkingBudget).toInt();
    s.enableThinking    = v.value("enableThinking", s.enableThinking).toBool();
    s.maxImagePixels    = v.value("maxImagePixels", s.maxImagePixels).toLongLong();
    s.threads           = v.value("threads", s.threads).toInt();
    s.promptArithmetic  = v.value("promptArithmetic", s.promptArithmetic).toString();
    s.maxImagesPerTurn  = v.value("maxImagesPerTurn", s.maxImagesPerTurn).toInt();
    s.pdfDpi            = v.value("pdfDpi", s.pdfDpi).toDouble();
    s.maxPdfPages       = v.value("maxPdfPages", s.maxPdfPages).toInt();
    s.save();
    const AppSettingsSnapshot after{s.modelDir,     s.weights,     s.backend, s.remoteUrl,
                                    s.remoteApiKey, s.remoteModel, s.threads, s.promptArithmetic};
    if (!(before == after)) loadModel();
}

bool EngineBackend::officeConversionAvailable() const { return media::find_soffice().has_value(); }

int EngineBackend::pdfPageCount(const QString& path) const {
    auto n = media::pdf_page_count(path.toStdString());
    return n ? *n : -1;
}

} // namespace glmv::desktop

namespace glmv::desktop {

namespace {
pipeline::HubDownloadOptions hubOptions(const QString& repo, const QString& hub, const QString& endpoint) {
    pipeline::HubDownloadOptions o;
    o.repo     = repo.toStdString();
    o.hub      = hub == "modelscope" ? pipeline::Hub::modelscope : pipeline::Hub::huggingface;
    o.revision = hub == "modelscope" ? "master" : "main";
    o.endpoint = endpoint.toStdString();
    return o;
}
} // namespace

void EngineBackend::runOffThread(std::function<void()> job) {
    if (m_downloadThread.joinable()) m_downloadThread.join(); // the previous request has finished or was cancelled
    m_cancelDownload = false;
    m_downloadThread = std::thread(std::move(job));
}

void EngineBackend::planDownload(const QString& repo, const QString& hub, const QString& endpoint) {
    runOffThread([this, o = hubOptions(repo, hub, endpoint)] {
        auto plan = pipeline::plan_download(o);
        QMetaObject::invokeMethod(this, [this, plan] {
            if (!plan) {
                emit downloadPlanned(QString::fromStdString(plan.status().message()), 0, 0, 0, 0, 0, 0);
                return;
            }
            const double w = double(plan->weight_bytes);
            emit downloadPlanned({}, int(plan->files.size()), qint64(plan->total_bytes), qint64(plan->missing_bytes),
                                 qint64(w), qint64(w * 0.63), qint64(w * 0.39));
        }, Qt::QueuedConnection);
    });
}

void EngineBackend::startDownload(const QString& repo, const QString& hub, const QString& endpoint, const QString& folder) {
    auto o    = hubOptions(repo, hub, endpoint);
    o.out_dir = folder.toStdString();
    runOffThread([this, o] {
        QElapsedTimer since;
        since.start();
        auto r = pipeline::download_repo(o, [&](const pipeline::DownloadProgress& p) {
            if (since.elapsed() >= 100 || p.done == p.total) { // ≤ 10 updates/s reach the GUI
                since.restart();
                QMetaObject::invokeMethod(this, [this, p] {
                    emit downloadProgress(qint64(p.done), qint64(p.total), p.bytes_per_s, p.eta_s, QString::fromStdString(p.file));
                }, Qt::QueuedConnection);
            }
            return !m_cancelDownload.load();
        });
        const QString message = r ? QString() : QString::fromStdString(r.status().message());
        QMetaObject::invokeMethod(this, [this, ok = bool(r), message, folder = QString::fromStdString(o.out_dir)] {
            emit downloadFinished(ok, message, folder);
        }, Qt::QueuedConnection);
    });
}

} // namespace glmv::desktop
