// One message in the chat: the user's (text + attachment thumbnails, editable) or the assistant's (a Thinking section
// that runs live and then collapses to "Thought for N s", an Answer rendered as Markdown with code blocks, readable
// math and highlighted boxed spans, and the speed figures).
#pragma once

#include <QElapsedTimer>
#include <QFrame>
#include <QTextBrowser>
#include <QTimer>

#include "glmv/ui/chat_backend.h"

class QLabel;
class QToolButton;
class QVBoxLayout;
class QPlainTextEdit;
class QPushButton;

namespace glmv::ui {

// A read-only rich text view that is exactly as tall as its content (so the chat scrolls as one column).
class FittedTextBrowser : public QTextBrowser {
    Q_OBJECT
  public:
    explicit FittedTextBrowser(QWidget* parent = nullptr);
    QSize sizeHint() const override;
    void  refit();

  protected:
    void resizeEvent(QResizeEvent* e) override;
};

class UserMessageWidget : public QFrame {
    Q_OBJECT
  public:
    UserMessageWidget(const MessageView& m, QWidget* parent = nullptr);
    qint64 messageId() const { return m_message.id; }
    void   setEditable(bool editable);

  signals:
    void editSubmitted(qint64 messageId, const QString& text);

  private:
    void startEdit();

    MessageView     m_message;
    QLabel*         m_text     = nullptr;
    QPlainTextEdit* m_editor   = nullptr;
    QWidget*        m_editRow  = nullptr;
    QPushButton*    m_editBtn  = nullptr;
};

class AssistantMessageWidget : public QFrame {
    Q_OBJECT
  public:
    AssistantMessageWidget(const MessageView& m, QWidget* parent = nullptr);
    qint64 messageId() const { return m_message.id; }

    void appendThinking(const QString& text);
    void appendAnswer(const QString& text, bool boxed);
    void finish(const MessageView& final);
    void setRegenerateVisible(bool visible);
    void highlight(const QString& term); // expands thinking and marks matches (search)

    bool        thinkingExpanded() const;
    QString     thinkingHeaderText() const;
    QString     answerText() const { return m_message.text; }
    QString     renderedAnswerPlainText() const;

  signals:
    void regenerateRequested();

  private:
    void renderAnswer();
    void updateThinkingHeader();
    void setThinkingExpanded(bool expanded);

    MessageView    m_message;
    bool           m_streaming = false;
    bool           m_showSource = false;
    QElapsedTimer  m_clock;
    QTimer         m_tick;
    QToolButton*   m_thinkingHeader = nullptr;
    QTextBrowser*  m_thinkingView   = nullptr;
    QWidget*       m_answerBox      = nullptr;
    QVBoxLayout*   m_answerLayout   = nullptr;
    QLabel*        m_stats          = nullptr;
    QPushButton*   m_regenerate     = nullptr;
    QPushButton*   m_sourceToggle   = nullptr;
    QTimer         m_renderThrottle;
};

} // namespace glmv::ui
