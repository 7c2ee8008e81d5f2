// Settings, edited as the backend's key → value map (see ChatBackend::settings): model folder (validated live,
// saying what is missing), weight format, sampling, thinking budget, image pixels, threads, prompt arithmetic,
// per-turn limits, PDF dpi.
#pragma once

#include <QDialog>
#include <QVariantMap>

class QLineEdit;
class QLabel;
class QFormLayout;

namespace glmv::ui {

class ChatBackend;

class SettingsDialog : public QDialog {
    Q_OBJECT
  public:
    SettingsDialog(ChatBackend* backend, QWidget* parent = nullptr);
    QVariantMap values() const;

  private:
    void validateModel();

    ChatBackend*             m_backend;
    QVariantMap              m_initial;
    QMap<QString, QWidget*>  m_fields;
    QLineEdit*               m_modelDir;
    QLabel*                  m_modelCheck;
};

} // namespace glmv::ui
