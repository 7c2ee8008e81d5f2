// The input area: a multi-line prompt (Enter sends, Shift+Enter adds a line), attachment chips with thumbnails, a
// remove button and, for documents, a page-range field; the per-turn limits are explained under the chips and keep
// Send disabled instead of failing later.
#pragma once

#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QWidget>

#include "glmv/ui/chat_backend.h"

class QHBoxLayout;
class QLineEdit;

namespace glmv::ui {

class PromptEdit : public QPlainTextEdit {
    Q_OBJECT
  public:
    using QPlainTextEdit::QPlainTextEdit;

  signals:
    void submit();
    void filesPasted(const QStringList& paths);

  protected:
    void keyPressEvent(QKeyEvent* e) override;
    bool canInsertFromMimeData(const QMimeData* source) const override;
    void insertFromMimeData(const QMimeData* source) override;
};

// Classifies a file by extension: "image", "video", "pdf", "office" or "" (unsupported).
QString attachmentKindFor(const QString& path);

class Composer : public QWidget {
    Q_OBJECT
  public:
    explicit Composer(ChatBackend* backend, QWidget* parent = nullptr);

    void                 addFiles(const QStringList& paths);
    QList<AttachmentRef> attachments() const;
    void                 setBusy(bool busy);
    void                 setMaxImages(int n);
    QString              limitsExplanation() const { return m_limits->text(); }
    bool                 canSend() const;
    PromptEdit*          editor() const { return m_edit; }
    void                 clearAll();

  signals:
    void sendRequested(const QString& text, const QList<glmv::ui::AttachmentRef>& attachments);
    void stopRequested();

  private:
    struct Chip {
        AttachmentRef ref;
        QWidget*      widget    = nullptr;
        QLineEdit*    pages     = nullptr;
        QString       problem;
    };
    void addChip(const QString& path);
    void removeChip(QWidget* w);
    void refreshLimits();
    void trySend();

    ChatBackend* m_backend;
    PromptEdit*  m_edit;
    QPushButton* m_send;
    QPushButton* m_stop;
    QPushButton* m_attach;
    QHBoxLayout* m_chipRow;
    QLabel*      m_limits;
    QList<Chip>  m_chips;
    int          m_maxImages = 10;
    bool         m_busy      = false;
};

} // namespace glmv::ui
