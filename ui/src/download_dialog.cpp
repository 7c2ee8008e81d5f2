#include "download_dialog.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QStandardPaths>

#include "glmv/ui/chat_backend.h"

namespace glmv::ui {

namespace {
QString human(double bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    int         u       = 0;
    while (bytes >= 1000 && u < 4) bytes /= 1000, ++u;
    return QString::number(bytes, 'f', u ? 1 : 0) + " " + units[u];
}
} // namespace

DownloadDialog::DownloadDialog(ChatBackend* backend, QWidget* parent) : QDialog(parent), m_backend(backend) {
    setWindowTitle(tr("Download a model"));
    auto* form = new QFormLayout(this);
    m_repo     = new QLineEdit("zai-org/GLM-4.1V-9B-Thinking", this);
    m_repo->setObjectName("repo");
    form->addRow(tr("Repository"), m_repo);
    m_hub = new QComboBox(this);
    m_hub->addItem("Hugging Face", "hf");
    m_hub->addItem("ModelScope", "modelscope");
    form->addRow(tr("Hub"), m_hub);
    m_endpoint = new QLineEdit(this);
    m_endpoint->setObjectName("endpoint");
    m_endpoint->setPlaceholderText(qEnvironmentVariable("HF_ENDPOINT", tr("default (or a mirror such as https://hf-mirror.com)")));
    form->addRow(tr("Mirror"), m_endpoint);
    const QString base = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + "/models/";
    m_folder           = new QLineEdit(base + "GLM-4.1V-9B-Thinking", this);
    m_folder->setObjectName("folder");
    auto* browse = new QPushButton(tr("Browse…"), this);
    auto* row    = new QHBoxLayout;
    row->addWidget(m_folder);
    row->addWidget(browse);
    form->addRow(tr("Folder"), row);
    m_info = new QLabel(tr("Check the repository to see its size and the memory it needs."), this);
    m_info->setObjectName("downloadInfo");
    m_info->setWordWrap(true);
    form->addRow(m_info);
    m_progress = new QProgressBar(this);
    m_progress->setObjectName("downloadProgress");
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    form->addRow(m_progress);
    m_progressText = new QLabel(this);
    m_progressText->setObjectName("downloadProgressText");
    form->addRow(m_progressText);
    auto* buttons = new QHBoxLayout;
    m_check       = new QPushButton(tr("Check"), this);
    m_check->setObjectName("checkDownload");
    m_start       = new QPushButton(tr("Download"), this);
    m_start->setObjectName("startDownload");
    m_cancel = new QPushButton(tr("Cancel download"), this);
    m_cancel->setEnabled(false);
    m_use = new QPushButton(tr("Use this model"), this);
    m_use->setObjectName("useModel");
    m_use->setEnabled(false);
    auto* close = new QPushButton(tr("Close"), this);
    for (auto* b : {m_check, m_start, m_cancel, m_use, close}) buttons->addWidget(b);
    form->addRow(buttons);

    connect(m_repo, &QLineEdit::textChanged, this, [this, base](const QString& repo) {
        m_folder->setText(base + repo.section('/', -1));
    });
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Download into"), m_folder->text());
        if (!d.isEmpty()) m_folder->setText(d);
    });
    connect(m_check, &QPushButton::clicked, this, [this] {
        m_info->setText(tr("Asking the hub…"));
        m_backend->planDownload(m_repo->text().trimmed(), m_hub->currentData().toString(), m_endpoint->text().trimmed());
    });
    connect(m_start, &QPushButton::clicked, this, [this] {
        m_running = true;
        m_start->setEnabled(false);
        m_cancel->setEnabled(true);
        m_use->setEnabled(false);
        m_backend->startDownload(m_repo->text().trimmed(), m_hub->currentData().toString(), m_endpoint->text().trimmed(),
                                 m_folder->text());
    });
    connect(m_cancel, &QPushButton::clicked, m_backend, &ChatBackend::cancelDownload);
    connect(close, &QPushButton::clicked, this, [this] {
        if (m_running) m_backend->cancelDownload();
        reject();
    });
    connect(m_use, &QPushButton::clicked, this, [this] {
        QVariantMap v   = m_backend->settings();
        v["modelDir"]   = m_folder->text();
        v["backend"]    = "embedded";
        m_backend->applySettings(v);
        accept();
    });
    connect(m_backend, &ChatBackend::downloadPlanned, this,
            [this](const QString& err, int files, qint64 total, qint64 missing, qint64 bf16, qint64 q8, qint64 q4) {
                if (!err.isEmpty()) {
                    m_info->setText("⚠ " + err);
                    return;
                }
                m_info->setText(tr("%1 files, %2 (%3 still to download). Memory to run it: bf16 ≈ %4, q8 ≈ %5, q4 ≈ %6, "
                                   "plus the conversation's KV cache.")
                                    .arg(files)
                                    .arg(human(double(total)), human(double(missing)), human(double(bf16)), human(double(q8)),
                                         human(double(q4))));
            });
    connect(m_backend, &ChatBackend::downloadProgress, this,
            [this](qint64 done, qint64 total, double bps, double eta, const QString& file) {
                m_progress->setValue(total > 0 ? int(1000.0 * double(done) / double(total)) : 0);
                m_progressText->setText(tr("%1 of %2 · %3/s · %4 s left · %5")
                                            .arg(human(double(done)), human(double(total)), human(bps))
                                            .arg(qRound(eta))
                                            .arg(file));
            });
    connect(m_backend, &ChatBackend::downloadFinished, this, [this](bool ok, const QString& message, const QString&) {
        m_running = false;
        m_start->setEnabled(true);
        m_cancel->setEnabled(false);
        m_use->setEnabled(ok);
        m_progressText->setText(ok ? tr("✓ Downloaded and verified.") : "⚠ " + message);
        if (ok) m_progress->setValue(1000);
    });
}

QString DownloadDialog::folder() const { return m_folder->text(); }

} // namespace glmv::ui
