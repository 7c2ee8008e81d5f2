// The port between the widgets and whatever runs the model (style.md: ui owns it, the executable implements it).
// The UI calls these methods on the GUI thread; implementations must return at once (work happens elsewhere) and
// report through the signals, which arrive on the GUI thread.
//
//   class EngineBackend : public glmv::ui::ChatBackend { … };    // app/desktop: store + inference worker
//   glmv::ui::MainWindow w(&backend);
#pragma once

#include <QList>
#include <QObject>
#include <QString>
#include <QVariantMap>

namespace glmv::ui {

struct AttachmentRef {
    QString kind;        // "image", "video", "pdf" (office documents are "pdf" after conversion)
    QString path;
    QString displayName;
    int     firstPage = 1; // PDF page range, inclusive; lastPage 0 = to the end
    int     lastPage  = 0;
};

struct MessageView {
    qint64               id = 0;
    QString              role;     // "user" | "assistant"
    QString              text;     // user text or the assistant's answer (Markdown; boxed spans as ⟦box⟧…⟦/box⟧)
    QString              thinking;
    QList<AttachmentRef> attachments;
    QString              state = "complete"; // complete | streaming | interrupted | error
    double               thinkingSeconds = 0;
    double               ttftMs          = 0;
    double               tokensPerSecond = 0;
    qint64               tokens          = 0;
};

struct ConversationRef {
    qint64  id = 0;
    QString title;
};

// Markers the backend puts around boxed answer spans (<|begin_of_box|> … <|end_of_box|>).
inline const QString kBoxOpen  = QStringLiteral("\u27E6box\u27E7");
inline const QString kBoxClose = QStringLiteral("\u27E6/box\u27E7");

class ChatBackend : public QObject {
    Q_OBJECT
  public:
    using QObject::QObject;

    // Conversations.
    virtual QList<ConversationRef> conversations(const QString& filter) = 0;
    virtual qint64                 createConversation()                          = 0;
    virtual void                   renameConversation(qint64 id, const QString& title) = 0;
    virtual void                   deleteConversation(qint64 id)                  = 0;
    virtual void                   restoreConversation(qint64 id)                 = 0;
    virtual QList<MessageView>     messages(qint64 conversation)                  = 0;
    virtual bool                   exportConversation(qint64 id, const QString& path, bool json, QString* error) = 0;

    // Generation. send() appends the user turn and starts the assistant's reply.
    virtual void send(qint64 conversation, const QString& text, const QList<AttachmentRef>& attachments) = 0;
    virtual void regenerate(qint64 conversation)                                      = 0;
    virtual void editAndResend(qint64 conversation, qint64 messageId, const QString& text) = 0;
    virtual void stop()                                                               = 0;
    virtual bool busy() const                                                         = 0;

    // Model and environment.
    virtual QString modelStatus() const                          = 0;
    virtual bool    modelReady() const                           = 0;
    virtual QString validateModelFolder(const QString& dir) const = 0; // empty = fine; else what is missing
    // Settings as key → value (keys: backend (embedded|remote), remoteUrl, remoteApiKey, remoteModel, modelDir, weights, temperature, topP, topK, repetitionPenalty, maxNewTokens,
    // seed, thinkingBudget, enableThinking, maxImagePixels, threads, maxImagesPerTurn, pdfDpi, maxPdfPages).
    virtual QVariantMap settings() const                         = 0;
    virtual void        applySettings(const QVariantMap& values) = 0; // persists; reloads the model if it changed
    virtual bool    officeConversionAvailable() const            = 0;

    // Model downloads (Hugging Face, a mirror, or ModelScope). planDownload answers with downloadPlanned;
    // startDownload reports downloadProgress and ends with downloadFinished. One download at a time.
    virtual void    planDownload(const QString& repo, const QString& hub, const QString& endpoint) = 0;
    virtual void    startDownload(const QString& repo, const QString& hub, const QString& endpoint,
                                  const QString& folder)                                           = 0;
    virtual void    cancelDownload()                                                               = 0;
    virtual int     pdfPageCount(const QString& path) const      = 0; // -1 when unreadable

  signals:
    void conversationsChanged();
    void messagesReset(qint64 conversation);
    void generationStarted(qint64 conversation, qint64 assistantMessageId);
    void thinkingDelta(qint64 assistantMessageId, const QString& text);
    void answerDelta(qint64 assistantMessageId, const QString& text, bool boxed);
    void generationFinished(qint64 assistantMessageId, const glmv::ui::MessageView& final);
    void errorOccurred(const QString& message);
    void modelStatusChanged();
    // error empty = fine; sizes in bytes; ramBf16/Q8/Q4 = what each weight format needs in memory.
    void downloadPlanned(const QString& error, int files, qint64 totalBytes, qint64 missingBytes, qint64 ramBf16,
                         qint64 ramQ8, qint64 ramQ4);
    void downloadProgress(qint64 done, qint64 total, double bytesPerSecond, double etaSeconds, const QString& file);
    void downloadFinished(bool ok, const QString& message, const QString& folder);
};

} // namespace glmv::ui

Q_DECLARE_METATYPE(glmv::ui::MessageView)
