// Conversations on disk: SQLite (WAL, synchronous=FULL for message commits) in the user's data folder, with every
// attachment copied into a content-addressed folder (attachments/<sha256>.<ext>) so that moving or deleting the
// original file loses nothing.
//
//   ConversationStore store;
//   if (!store.open(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation))) showError(store.lastError());
//   qint64 c = store.createConversation("New chat");
//   qint64 m = store.addMessage(c, msg);                  // committed before it returns
//   store.checkpoint(answerId, text, thinking);           // during generation, at most every 2 s
//
// Crash safety: an assistant message is written with state "streaming" when generation starts and checkpointed while
// it runs; on the next open every message still "streaming" becomes "interrupted" (kept, marked). The file has an
// application id and a schema version; a database from a newer version is opened read-only with a clear message.
// Deleting a conversation moves it to the trash (deleted_at), purged after 30 days.
//
// Threading: use a ConversationStore from one thread (it owns one SQLite connection).
#pragma once

#include <QDateTime>
#include <QList>
#include <QSqlDatabase>
#include <QString>

namespace glmv::app {

struct StoredAttachment {
    QString kind;         // "image", "video", "pdf"
    QString path;         // the stored copy (absolute)
    QString originalName; // file name the user attached
    QString sha256;
    int     firstPage = 1;
    int     lastPage  = 0;
};

struct StoredMessage {
    qint64                  id = 0;
    QString                 role;     // "user", "assistant", "system"
    QString                 text;     // user text, or the assistant's answer
    QString                 thinking; // assistant reasoning
    QString                 state = "complete"; // complete | streaming | interrupted | error
    QList<StoredAttachment> attachments;
    qint64                  thinkingMs      = 0;
    double                  ttftMs          = 0;
    double                  tokensPerSecond = 0;
    qint64                  completionTokens = 0;
    QDateTime               createdAt;
};

struct ConversationSummary {
    qint64    id = 0;
    QString   title;
    QDateTime updatedAt;
};

class ConversationStore {
  public:
    static constexpr int kSchemaVersion = 1;
    static constexpr int kApplicationId = 0x474C4D56; // "GLMV"

    ConversationStore();
    ~ConversationStore();

    bool    open(const QString& dataDir);
    void    close();
    bool    isReadOnly() const { return m_readOnly; }
    QString lastError() const { return m_error; }
    QString dataDir() const { return m_dir; }

    QList<ConversationSummary> conversations(const QString& filter = {}) const; // newest first, search in titles+text
    qint64                     createConversation(const QString& title);
    bool                       renameConversation(qint64 id, const QString& title);
    bool                       deleteConversation(qint64 id);  // to the trash
    bool                       restoreConversation(qint64 id); // undo a delete
    QString                    title(qint64 id) const;

    QList<StoredMessage> messages(qint64 conversationId) const;
    // Copies attachments into the store; returns the new message id (0 on failure).
    qint64 addMessage(qint64 conversationId, StoredMessage message);
    bool   checkpoint(qint64 messageId, const QString& text, const QString& thinking);
    bool   finishMessage(qint64 messageId, const StoredMessage& final);
    // Removes the message and everything after it in its conversation (edit-and-resend, regenerate).
    bool   truncateFrom(qint64 conversationId, qint64 messageId);
    bool   updateMessageText(qint64 messageId, const QString& text);

    QString exportMarkdown(qint64 conversationId) const;
    QString exportJson(qint64 conversationId) const; // OpenAI chat messages; images as data: URLs

    // Copies a file into attachments/ (content-addressed). Returns the stored path or empty on failure.
    QString storeAttachment(const QString& sourcePath, QString* sha256);

  private:
    bool migrate();
    bool exec(const QString& sql);

    QSqlDatabase m_db;
    QString      m_connection;
    QString      m_dir;
    QString      m_error;
    bool         m_readOnly = false;
};

} // namespace glmv::app
