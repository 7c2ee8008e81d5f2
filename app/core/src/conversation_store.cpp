#include "glmv/app/conversation_store.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMimeDatabase>
#include <QSaveFile>
#include <QSqlError>
#include <QSqlQuery>
#include <QUuid>
#include <QUrl>
#include <QVariant>

namespace glmv::app {

namespace {
// A null QString binds as SQL NULL; the text columns are NOT NULL.
QString nn(const QString& s) { return s.isNull() ? QStringLiteral("") : s; }
} // namespace

ConversationStore::ConversationStore() : m_connection("glmv-store-" + QUuid::createUuid().toString(QUuid::WithoutBraces)) {}

ConversationStore::~ConversationStore() { close(); }

void ConversationStore::close() {
    if (m_db.isValid()) {
        m_db.close();
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_connection);
    }
}

bool ConversationStore::exec(const QString& sql) {
    QSqlQuery q(m_db);
    if (!q.exec(sql)) {
        m_error = q.lastError().text();
        return false;
    }
    return true;
}

bool ConversationStore::open(const QString& dataDir) {
    m_dir = dataDir;
    if (!QDir().mkpath(dataDir + "/attachments")) {
        m_error = QString("Cannot create the data folder %1: check its permissions.").arg(dataDir);
        return false;
    }
    m_db = QSqlDatabase::addDatabase("QSQLITE", m_connection);
    m_db.setDatabaseName(dataDir + "/conversations.sqlite");
    if (!m_db.open()) {
        m_error = "Cannot open the conversation database: " + m_db.lastError().text();
        return false;
    }
    QSqlQuery q(m_db);
    q.exec("PRAGMA application_id");
    const int appId = q.next() ? q.value(0).toInt() : 0;
    q.exec("PRAGMA user_version");
    const int version = q.next() ? q.value(0).toInt() : 0;
    if (appId != 0 && appId != kApplicationId) {
        m_error = "conversations.sqlite does not belong to GLM-V Desktop; it was left untouched.";
        m_readOnly = true;
        return false;
    }
    if (version > kSchemaVersion) {
        // A newer app wrote this file: never migrate down or hide anything; read it as it is.
        m_readOnly = true;
        m_error = QString("Your conversations were saved by a newer GLM-V Desktop (format %1). They are shown "
                          "read-only; update the app to continue them.").arg(version);
        exec("PRAGMA query_only = ON");
        return true;
    }
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = FULL");
    exec("PRAGMA foreign_keys = ON");
    if (!migrate()) return false;
    // Messages still "streaming" were being generated when the app died: keep them, marked.
    exec("UPDATE messages SET state = 'interrupted' WHERE state = 'streaming'");
    // Trash older than 30 days is purged.
    QSqlQuery purge(m_db);
    purge.prepare("DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at < ?");
    purge.addBindValue(QDateTime::currentSecsSinceEpoch() - 30 * 24 * 3600);
    purge.exec();
    return true;
}

bool ConversationStore::migrate() {
    QSqlQuery q(m_db);
    q.exec("PRAGMA user_version");
    const int version = q.next() ? q.value(0).toInt() : 0;
    if (version == kSchemaVersion) return true;
    // All schema changes live here, one step per version, each in one transaction.
    if (!m_db.transaction()) return false;
    bool ok = true;
    if (version < 1) {
        ok = ok && exec("CREATE TABLE conversations (id INTEGER PRIMARY KEY, title TEXT NOT NULL, created_at INTEGER NOT "
                        "NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER)");
        ok = ok && exec("CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id INTEGER NOT NULL REFERENCES "
                        "conversations(id) ON DELETE CASCADE, position INTEGER NOT NULL, role TEXT NOT NULL, text TEXT "
                        "NOT NULL, thinking TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT 'complete', "
                        "thinking_ms INTEGER DEFAULT 0, ttft_ms REAL DEFAULT 0, tokens_per_s REAL DEFAULT 0, "
                        "completion_tokens INTEGER DEFAULT 0, created_at INTEGER NOT NULL)");
        ok = ok && exec("CREATE TABLE attachments (id INTEGER PRIMARY KEY, message_id INTEGER NOT NULL REFERENCES "
                        "messages(id) ON DELETE CASCADE, kind TEXT NOT NULL, path TEXT NOT NULL, original_name TEXT, "
                        "sha256 TEXT, first_page INTEGER DEFAULT 1, last_page INTEGER DEFAULT 0)");
        ok = ok && exec("CREATE INDEX messages_by_conversation ON messages(conversation_id, position)");
    }
    ok = ok && exec(QString("PRAGMA application_id = %1").arg(kApplicationId));
    ok = ok && exec(QString("PRAGMA user_version = %1").arg(kSchemaVersion));
    if (!ok) {
        m_db.rollback();
        return false;
    }
    return m_db.commit();
}

QList<ConversationSummary> ConversationStore::conversations(const QString& filter) const {
    QList<ConversationSummary> out;
    QSqlQuery                  q(m_db);
    if (filter.isEmpty()) {
        q.prepare("SELECT id, title, updated_at FROM conversations WHERE deleted_at IS NULL ORDER BY updated_at DESC, id DESC");
    } else {
        q.prepare("SELECT id, title, updated_at FROM conversations c WHERE deleted_at IS NULL AND (title LIKE :f1 OR EXISTS "
                  "(SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND (m.text LIKE :f2 OR m.thinking LIKE :f3))) "
                  "ORDER BY updated_at DESC, id DESC");
        for (const char* name : {":f1", ":f2", ":f3"}) q.bindValue(name, "%" + filter + "%");
    }
    q.exec();
    while (q.next())
        out.push_back({q.value(0).toLongLong(), q.value(1).toString(), QDateTime::fromSecsSinceEpoch(q.value(2).toLongLong())});
    return out;
}

qint64 ConversationStore::createConversation(const QString& title) {
    if (m_readOnly) return 0;
    QSqlQuery q(m_db);
    q.prepare("INSERT INTO conversations (title, created_at, updated_at) VALUES (?, ?, ?)");
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    q.addBindValue(title);
    q.addBindValue(now);
    q.addBindValue(now);
    if (!q.exec()) {
        m_error = q.lastError().text();
        return 0;
    }
    return q.lastInsertId().toLongLong();
}

bool ConversationStore::renameConversation(qint64 id, const QString& title) {
    QSqlQuery q(m_db);
    q.prepare("UPDATE conversations SET title = ? WHERE id = ?");
    q.addBindValue(title);
    q.addBindValue(id);
    return q.exec();
}

bool ConversationStore::deleteConversation(qint64 id) {
    QSqlQuery q(m_db);
    q.prepare("UPDATE conversations SET deleted_at = ? WHERE id = ?");
    q.addBindValue(QDateTime::currentSecsSinceEpoch());
    q.addBindValue(id);
    return q.exec();
}

bool ConversationStore::restoreConversation(qint64 id) {
    QSqlQuery q(m_db);
    q.prepare("UPDATE conversations SET deleted_at = NULL WHERE id = ?");
    q.addBindValue(id);
    return q.exec();
}

QString ConversationStore::title(qint64 id) const {
    QSqlQuery q(m_db);
    q.prepare("SELECT title FROM conversations WHERE id = ?");
    q.addBindValue(id);
    q.exec();
    return q.next() ? q.value(0).toString() : QString();
}

QList<StoredMessage> ConversationStore::messages(qint64 conversationId) const {
    QList<StoredMessage> out;
    QSqlQuery            q(m_db);
    q.prepare("SELECT id, role, text, thinking, state, thinking_ms, ttft_ms, tokens_per_s, completion_tokens, created_at "
              "FROM messages WHERE conversation_id = ? ORDER BY position");
    q.addBindValue(conversationId);
    q.exec();
    while (q.next()) {
        StoredMessage m;
        m.id               = q.value(0).toLongLong();
        m.role             = q.value(1).toString();
        m.text             = q.value(2).toString();
        m.thinking         = q.value(3).toString();
        m.state            = q.value(4).toString();
        m.thinkingMs       = q.value(5).toLongLong();
        m.ttftMs           = q.value(6).toDouble();
        m.tokensPerSecond  = q.value(7).toDouble();
        m.completionTokens = q.value(8).toLongLong();
        m.createdAt        = QDateTime::fromSecsSinceEpoch(q.value(9).toLongLong());
        QSqlQuery a(m_db);
        a.prepare("SELECT kind, path, original_name, sha256, first_page, last_page FROM attachments WHERE message_id = ? "
                  "ORDER BY id");
        a.addBindValue(m.id);
        a.exec();
        while (a.next())
            m.attachments.push_back({a.value(0).toString(), a.value(1).toString(), a.value(2).toString(),
                                     a.value(3).toString(), a.value(4).toInt(), a.value(5).toInt()});
        out.push_back(std::move(m));
    }
    return out;
}

QString ConversationStore::storeAttachment(const QString& sourcePath, QString* sha256) {
    QFile src(sourcePath);
    if (!src.open(QIODevice::ReadOnly)) {
        m_error = QString("Cannot read %1: %2").arg(sourcePath, src.errorString());
        return {};
    }
    QCryptographicHash hash(QCryptographicHash::Sha256);
    if (!hash.addData(&src)) {
        m_error = QString("Cannot read %1").arg(sourcePath);
        return {};
    }
    const QString hex    = QString::fromLatin1(hash.result().toHex());
    const QString suffix = QFileInfo(sourcePath).suffix().toLower();
    const QString dest   = m_dir + "/attachments/" + hex + (suffix.isEmpty() ? "" : "." + suffix);
    if (sha256) *sha256 = hex;
    if (QFileInfo::exists(dest) && QFileInfo(dest).size() == src.size()) return dest;
    src.seek(0);
    QSaveFile out(dest); // written to a temp file, fsynced and renamed: never a half-written attachment
    if (!out.open(QIODevice::WriteOnly)) {
        m_error = QString("Cannot save the attachment: %1").arg(out.errorString());
        return {};
    }
    while (!src.atEnd()) {
        QByteArray chunk = src.read(1 << 20);
        if (out.write(chunk) != chunk.size()) {
            out.cancelWriting();
            m_error = "Cannot save the attachment (disk full?)";
            return {};
        }
    }
    if (!out.commit()) {
        m_error = QString("Cannot save the attachment: %1").arg(out.errorString());
        return {};
    }
    return dest;
}

qint64 ConversationStore::addMessage(qint64 conversationId, StoredMessage m) {
    if (m_readOnly) return 0;
    for (StoredAttachment& a : m.attachments) {
        if (a.sha256.isEmpty()) {
            const QString stored = storeAttachment(a.path, &a.sha256);
            if (stored.isEmpty()) return 0;
            if (a.originalName.isEmpty()) a.originalName = QFileInfo(a.path).fileName();
            a.path = stored;
        }
    }
    if (!m_db.transaction()) return 0;
    QSqlQuery q(m_db);
    q.prepare("INSERT INTO messages (conversation_id, position, role, text, thinking, state, thinking_ms, ttft_ms, "
              "tokens_per_s, completion_tokens, created_at) VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM "
              "messages WHERE conversation_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const QVariant& v : QVariantList{conversationId, conversationId, m.role, nn(m.text), nn(m.thinking), m.state, m.thinkingMs,
                                          m.ttftMs, m.tokensPerSecond, m.completionTokens, QDateTime::currentSecsSinceEpoch()})
        q.addBindValue(v);
    if (!q.exec()) {
        m_error = q.lastError().text();
        m_db.rollback();
        return 0;
    }
    const qint64 id = q.lastInsertId().toLongLong();
    for (const StoredAttachment& a : m.attachments) {
        QSqlQuery qa(m_db);
        qa.prepare("INSERT INTO attachments (message_id, kind, path, original_name, sha256, first_page, last_page) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?)");
        for (const QVariant& v : QVariantList{id, a.kind, a.path, a.originalName, a.sha256, a.firstPage, a.lastPage})
            qa.addBindValue(v);
        if (!qa.exec()) {
            m_error = qa.lastError().text();
            m_db.rollback();
            return 0;
        }
    }
    QSqlQuery u(m_db);
    u.prepare("UPDATE conversations SET updated_at = ? WHERE id = ?");
    u.addBindValue(QDateTime::currentSecsSinceEpoch());
    u.addBindValue(conversationId);
    u.exec();
    return m_db.commit() ? id : 0;
}

bool ConversationStore::checkpoint(qint64 messageId, const QString& text, const QString& thinking) {
    QSqlQuery q(m_db);
    q.prepare("UPDATE messages SET text = ?, thinking = ? WHERE id = ?");
    q.addBindValue(nn(text));
    q.addBindValue(nn(thinking));
    q.addBindValue(messageId);
    if (!q.exec()) {
        m_error = q.lastError().text();
        return false;
    }
    return true;
}

bool ConversationStore::finishMessage(qint64 messageId, const StoredMessage& m) {
    QSqlQuery q(m_db);
    q.prepare("UPDATE messages SET text = ?, thinking = ?, state = ?, thinking_ms = ?, ttft_ms = ?, tokens_per_s = ?, "
              "completion_tokens = ? WHERE id = ?");
    for (const QVariant& v : QVariantList{nn(m.text), nn(m.thinking), m.state, m.thinkingMs, m.ttftMs, m.tokensPerSecond,
                                          m.completionTokens, messageId})
        q.addBindValue(v);
    if (!q.exec()) {
        m_error = q.lastError().text();
        return false;
    }
    return true;
}

bool ConversationStore::updateMessageText(qint64 messageId, const QString& text) {
    QSqlQuery q(m_db);
    q.prepare("UPDATE messages SET text = ? WHERE id = ?");
    q.addBindValue(nn(text));
    q.addBindValue(messageId);
    return q.exec();
}

bool ConversationStore::truncateFrom(qint64 conversationId, qint64 messageId) {
    QSqlQuery q(m_db);
    q.prepare("DELETE FROM messages WHERE conversation_id = ? AND position >= (SELECT position FROM messages WHERE id = ?)");
    q.addBindValue(conversationId);
    q.addBindValue(messageId);
    return q.exec();
}

QString ConversationStore::exportMarkdown(qint64 conversationId) const {
    QString md = "# " + title(conversationId) + "\n\n";
    for (const StoredMessage& m : messages(conversationId)) {
        md += m.role == "user" ? "## User\n\n" : m.role == "assistant" ? "## Assistant\n\n" : "## System\n\n";
        for (const StoredAttachment& a : m.attachments) {
            if (a.kind == "image") md += QString("![%1](%2)\n\n").arg(a.originalName, QUrl::fromLocalFile(a.path).toString());
            else md += QString("[%1: %2](%3)\n\n").arg(a.kind, a.originalName, QUrl::fromLocalFile(a.path).toString());
        }
        if (!m.thinking.isEmpty()) {
            md += "<details><summary>Thinking</summary>\n\n" + m.thinking + "\n\n</details>\n\n";
        }
        md += m.text + "\n\n";
        if (m.state == "interrupted") md += "*(interrupted)*\n\n";
    }
    return md;
}

QString ConversationStore::exportJson(qint64 conversationId) const {
    // OpenAI / Hugging Face chat message format. Images become data: URLs so the export stands alone; videos and
    // PDFs are referenced by file:// URL (they can be large).
    QJsonArray     out;
    QMimeDatabase  mimes;
    for (const StoredMessage& m : messages(conversationId)) {
        QJsonObject msg{{"role", m.role}};
        if (m.attachments.isEmpty() && m.role != "user") {
            msg["content"] = m.text;
            if (!m.thinking.isEmpty()) msg["reasoning_content"] = m.thinking;
        } else {
            QJsonArray parts;
            for (const StoredAttachment& a : m.attachments) {
                if (a.kind == "image") {
                    QFile f(a.path);
                    QByteArray data = f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
                    const QString mime = mimes.mimeTypeForFile(a.path).name();
                    parts.append(QJsonObject{{"type", "image_url"},
                                             {"image_url", QJsonObject{{"url", "data:" + mime + ";base64," +
                                                                                   QString::fromLatin1(data.toBase64())}}}});
                } else {
                    parts.append(QJsonObject{{"type", a.kind == "video" ? "video_url" : "file_url"},
                                             {a.kind == "video" ? "video_url" : "file_url",
                                              QJsonObject{{"url", QUrl::fromLocalFile(a.path).toString()}}}});
                }
            }
            parts.append(QJsonObject{{"type", "text"}, {"text", m.text}});
            msg["content"] = parts;
        }
        out.append(msg);
    }
    return QString::fromUtf8(QJsonDocument(out).toJson(QJsonDocument::Indented));
}

} // namespace glmv::app
