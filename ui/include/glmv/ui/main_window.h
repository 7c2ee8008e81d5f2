// The main window: conversations on the left (new / rename / delete with undo / search / export), the chat in the
// middle, the composer at the bottom. Files dropped anywhere on the window are attached.
#pragma once

#include <QMainWindow>

#include "glmv/ui/chat_backend.h"

class QListWidget;
class QLineEdit;
class QScrollArea;
class QVBoxLayout;
class QLabel;

namespace glmv::ui {

class Composer;
class AssistantMessageWidget;

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    explicit MainWindow(ChatBackend* backend, QWidget* parent = nullptr);

    qint64    currentConversation() const { return m_current; }
    void      openConversation(qint64 id);
    Composer* composer() const { return m_composer; }
    AssistantMessageWidget* assistantWidget(qint64 messageId) const;
    QList<AssistantMessageWidget*> assistantWidgets() const;
    void      showSettings();
    // Types `text` into the composer with `files` attached and presses Send (scripting, tests).
    void      submitPrompt(const QString& text, const QStringList& files);

  protected:
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;

  private:
    void refreshConversations();
    void reloadMessages();
    void addMessageWidget(const MessageView& m);
    void scrollToBottomSoon();
    void updateActions();
    void send(const QString& text, const QList<AttachmentRef>& attachments);

    ChatBackend* m_backend;
    qint64       m_current = 0;
    QListWidget* m_list;
    QLineEdit*   m_search;
    QScrollArea* m_scroll;
    QWidget*     m_messagesHost;
    QVBoxLayout* m_messagesLayout;
    Composer*    m_composer;
    QLabel*      m_modelStatus;
    QLabel*      m_banner;
};

} // namespace glmv::ui
