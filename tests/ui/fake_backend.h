// Test double of the ChatBackend port: conversations in memory, a scripted reply streamed on a timer.
#pragma once

#include <QTimer>

#include "glmv/ui/chat_backend.h"

namespace glmv::test {

class FakeBackend : public ui::ChatBackend {
    Q_OBJECT
  public:
    QStringList script = {"T:Let me look. ", "T:It is a cat.", "A:It is ", "B:a cat", "A:."};
    QList<QPair<QString, QList<ui::AttachmentRef>>> sent;
    int  stops = 0, regenerations = 0, edits = 0;
    bool office = false;

    QList<ui::ConversationRef> conversations(const QString&) override { return m_convs; }
    qint64 createConversation() override {
        m_convs.prepend({++m_next, "New chat"});
        emit conversationsChanged();
        return m_next;
    }
    void renameConversation(qint64 id, const QString& t) override {
        for (auto& c : m_convs)
            if (c.id == id) c.title = t;
        emit conversationsChanged();
    }
    void deleteConversation(qint64 id) override {
        for (int i = 0; i < m_convs.size(); ++i)
            if (m_convs[i].id == id) m_deleted = m_convs.takeAt(i);
        emit conversationsChanged();
    }
    void restoreConversation(qint64) override {
        m_convs.prepend(m_deleted);
        emit conversationsChanged();
    }
    QList<ui::MessageView> messages(qint64) override { return m_msgs; }
    bool exportConversation(qint64, const QString&, bool, QString*) override { return true; }

    void send(qint64 conv, const QString& text, const QList<ui::AttachmentRef>& a) override {
        sent.push_back({text, a});
        ui::MessageView u;
        u.id          = ++m_next;
        u.role        = "user";
        u.text        = text;
        u.attachments = a;
        m_msgs.push_back(u);
        start(conv);
    }
    void regenerate(qint64 conv) override {
        ++regenerations;
        m_msgs.removeLast();
        start(conv);
    }
    void editAndResend(qint64 conv, qint64 id, const QString& text) override {
        ++edits;
        while (!m_msgs.isEmpty() && m_msgs.last().id != id) m_msgs.removeLast();
        m_msgs.last().text = text;
        start(conv);
    }
    void stop() override {
        ++stops;
        m_timer.stop();
        finish("interrupted");
    }
    bool busy() const override { return m_active != 0; }

    QString     modelStatus() const override { return "Ready · fake"; }
    bool        modelReady() const override { return true; }
    QString     validateModelFolder(const QString& d) const override { return d == "/bad" ? "Missing: config.json." : ""; }
    QVariantMap settings() const override { return m_settings; }
    void        applySettings(const QVariantMap& v) override { m_settings = v; }
    bool        officeConversionAvailable() const override { return office; }
    int         pdfPageCount(const QString&) const override { return 3; }
    void        planDownload(const QString& repo, const QString&, const QString&) override {
        emit downloadPlanned(repo == "bad/repo" ? "no repository 'bad/repo'" : "", 3, 3000, 3000, 2000, 1260, 780);
    }
    void startDownload(const QString&, const QString&, const QString&, const QString& folder) override {
        emit downloadProgress(1500, 3000, 1000, 1.5, "model.safetensors");
        emit downloadFinished(true, {}, folder);
    }
    void cancelDownload() override {}

    QVariantMap m_settings = {{"maxImagesPerTurn", 2}, {"temperature", 1.0}, {"weights", "bf16"}};

  private:
    void start(qint64 conv) {
        ui::MessageView a;
        a.id    = ++m_next;
        a.role  = "assistant";
        a.state = "streaming";
        m_msgs.push_back(a);
        m_active = a.id;
        m_step   = 0;
        emit generationStarted(conv, a.id);
        m_timer.disconnect();
        connect(&m_timer, &QTimer::timeout, this, [this] {
            if (m_step >= script.size()) {
                m_timer.stop();
                finish("complete");
                return;
            }
            const QString s = script[m_step++];
            if (s.startsWith("T:")) {
                m_msgs.last().thinking += s.mid(2);
                emit thinkingDelta(m_active, s.mid(2));
            } else {
                const bool boxed = s.startsWith("B:");
                m_msgs.last().text += boxed ? ui::kBoxOpen + s.mid(2) + ui::kBoxClose : s.mid(2);
                emit answerDelta(m_active, s.mid(2), boxed);
            }
        });
        m_timer.start(30);
    }
    void finish(const QString& state) {
        if (!m_active) return;
        m_msgs.last().state           = state;
        m_msgs.last().ttftMs          = 12;
        m_msgs.last().tokensPerSecond = 34.5;
        m_msgs.last().thinkingSeconds = 2;
        const qint64 id               = m_active;
        m_active                      = 0;
        emit generationFinished(id, m_msgs.last());
    }

    QList<ui::ConversationRef> m_convs;
    ui::ConversationRef        m_deleted;
    QList<ui::MessageView>     m_msgs;
    qint64                     m_next = 0, m_active = 0;
    int                        m_step = 0;
    QTimer                     m_timer;
};

} // namespace glmv::test
