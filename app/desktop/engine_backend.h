// ChatBackend (the UI's port) implemented on the conversation store and the embedded engine's worker thread.
// GUI thread: this object and the store. Worker thread: InferenceWorker. Text arrives as queued signals, is
// appended to the streaming message and checkpointed to the store at most every 2 s.
#pragma once

#include <QElapsedTimer>
#include <QThread>
#include <atomic>
#include <functional>
#include <thread>

#include "glmv/app/app_settings.h"
#include "glmv/app/conversation_store.h"
#include "glmv/app/inference_worker.h"
#include "glmv/ui/chat_backend.h"

namespace glmv::desktop {

class EngineBackend : public ui::ChatBackend {
    Q_OBJECT
  public:
    // dataDir: where conversations.sqlite and attachments/ live.
    explicit EngineBackend(const QString& dataDir, QObject* parent = nullptr);
    ~EngineBackend() override;

    QList<ui::ConversationRef> conversations(const QString& filter) override;
    qint64                     createConversation() override;
    void                       renameConversation(qint64 id, const QString& title) override;
    void                       deleteConversation(qint64 id) override;
    void                       restoreConversation(qint64 id) override;
    QList<ui::MessageView>     messages(qint64 conversation) override;
    bool exportConversation(qint64 id, const QString& path, bool json, QString* error) override;

    void send(qint64 conversation, const QString& text, const QList<ui::AttachmentRef>& attachments) override;
    void regenerate(qint64 conversation) override;
    void editAndResend(qint64 conversation, qint64 messageId, const QString& text) override;
    void stop() override;
    bool busy() const override { return m_activeMessage != 0; }

    QString     modelStatus() const override { return m_status; }
    bool        modelReady() const override { return m_ready; }
    QString     validateModelFolder(const QString& dir) const override;
    QVariantMap settings() const override;
    void        applySettings(const QVariantMap& values) override;
    bool        officeConversionAvailable() const override;
    void        planDownload(const QString& repo, const QString& hub, const QString& endpoint) override;
    void        startDownload(const QString& repo, const QString& hub, const QString& endpoint, const QString& folder) override;
    void        cancelDownload() override { m_cancelDownload = true; }
    int         pdfPageCount(const QString& path) const override;

    app::ConversationStore& store() { return m_store; }
    void                    loadModel();

  private:
    void startGeneration(qint64 conversation);
    void onDelta(qint64 requestId, int channel, const QString& text, bool boxed);
    void onFinished(const app::GenerationOutcome& outcome);
    static ui::MessageView toView(const app::StoredMessage& m);

    app::ConversationStore m_store;
    app::AppSettings       m_settings;
    QThread                m_thread;
    app::InferenceWorker*  m_worker = nullptr;
    bool                   m_ready  = false;
    QString                m_status;
    qint64                 m_activeConversation = 0;
    qint64                 m_activeMessage      = 0;
    qint64                 m_requestId          = 0;
    QString                m_answer, m_thinking;
    QElapsedTimer          m_sinceCheckpoint;
    std::thread            m_downloadThread; // one hub request or download at a time, off the GUI thread
    std::atomic<bool>      m_cancelDownload{false};
    void                   runOffThread(std::function<void()> job);
};

} // namespace glmv::desktop
