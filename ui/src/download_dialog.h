// "Download a model": repository (default zai-org/GLM-4.1V-9B-Thinking), hub (Hugging Face or ModelScope), an
// optional mirror, the target folder; shows the files' size and the memory each weight format needs before
// starting, then a progress bar with bytes, speed and ETA; Cancel keeps the partial files for a later resume;
// when done, "Use this model" switches the app to it.
#pragma once

#include <QDialog>

class QLineEdit;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;

namespace glmv::ui {

class ChatBackend;

class DownloadDialog : public QDialog {
    Q_OBJECT
  public:
    explicit DownloadDialog(ChatBackend* backend, QWidget* parent = nullptr);
    QString folder() const;

  private:
    ChatBackend*  m_backend;
    QLineEdit*    m_repo;
    QComboBox*    m_hub;
    QLineEdit*    m_endpoint;
    QLineEdit*    m_folder;
    QLabel*       m_info;
    QProgressBar* m_progress;
    QLabel*       m_progressText;
    QPushButton*  m_check;
    QPushButton*  m_start;
    QPushButton*  m_cancel;
    QPushButton*  m_use;
    bool          m_running = false;
};

} // namespace glmv::ui
