#include "glmv/ui/main_window.h"

#include <QDragEnterEvent>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSplitter>
#include <QStatusBar>
#include <QTimer>
#include <QVBoxLayout>

#include "composer.h"
#include "download_dialog.h"
#include "message_widgets.h"
#include "settings_dialog.h"

namespace glmv::ui {

MainWindow::MainWindow(ChatBackend* backend, QWidget* parent) : QMainWindow(parent), m_backend(backend) {
    qRegisterMetaType<MessageView>();
    setWindowTitle("GLM-V Desktop");
    setAcceptDrops(true);
    resize(1200, 800);

    auto* split   = new QSplitter(this);
    auto* sidebar = new QWidget(split);
    auto* sv      = new QVBoxLayout(sidebar);
    auto* newChat = new QPushButton(tr("New chat"), sidebar);
    newChat->setObjectName("newChatButton");
    m_search = new QLineEdit(sidebar);
    m_search->setObjectName("searchEdit");
    m_search->setPlaceholderText(tr("Search conversations and reasoning…"));
    m_search->setClearButtonEnabled(true);
    m_list = new QListWidget(sidebar);
    m_list->setObjectName("conversationList");
    m_list->setContextMenuPolicy(Qt::CustomContextMenu);
    sv->addWidget(newChat);
    sv->addWidget(m_search);
    sv->addWidget(m_list);

    auto* chat = new QWidget(split);
    auto* cv   = new QVBoxLayout(chat);
    m_banner   = new QLabel(chat);
    m_banner->setObjectName("banner");
    m_banner->setWordWrap(true);
    m_banner->setStyleSheet("background: #fff3cd; color: #5c4400; padding: 6px; border-radius: 6px;");
    m_banner->hide();
    cv->addWidget(m_banner);
    m_scroll       = new QScrollArea(chat);
    m_scroll->setWidgetResizable(true);
    m_messagesHost = new QWidget(m_scroll);
    m_messagesLayout = new QVBoxLayout(m_messagesHost);
    m_messagesLayout->addStretch();
    m_scroll->setWidget(m_messagesHost);
    cv->addWidget(m_scroll, 1);
    m_composer = new Composer(backend, chat);
    cv->addWidget(m_composer);
    split->addWidget(sidebar);
    split->addWidget(chat);
    split->setStretchFactor(1, 1);
    split->setSizes({260, 940});
    setCentralWidget(split);

    m_modelStatus = new QLabel(this);
    m_modelStatus->setObjectName("modelStatus");
    statusBar()->addWidget(m_modelStatus, 1);
    auto* settings = new QPushButton(tr("Settings…"), this);
    settings->setObjectName("settingsButton");
    statusBar()->addPermanentWidget(settings);

    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("New chat"), QKeySequence::New, this, [this] { openConversation(m_backend->createConversation()); });
    file->addAction(tr("Attach files…"), this, [this] { m_composer->findChild<QPushButton*>("attachButton")->click(); });
    auto exportAs = [this](bool json) {
        if (!m_current) return;
        const QString path = QFileDialog::getSaveFileName(this, tr("Export conversation"), QString(),
                                                          json ? tr("JSON (*.json)") : tr("Markdown (*.md)"));
        QString err;
        if (!path.isEmpty() && !m_backend->exportConversation(m_current, path, json, &err))
            QMessageBox::warning(this, tr("Export failed"), err);
    };
    file->addAction(tr("Export as Markdown…"), this, [exportAs] { exportAs(false); });
    file->addAction(tr("Export as JSON…"), this, [exportAs] { exportAs(true); });
    file->addAction(tr("Settings…"), QKeySequence::Preferences, this, &MainWindow::showSettings);
    file->addAction(tr("Download a model…"), this, [this] {
        DownloadDialog d(m_backend, this);
        d.exec();
    });
    file->addAction(tr("Quit"), QKeySequence::Quit, this, &QWidget::close);

    connect(newChat, &QPushButton::clicked, this, [this] { openConversation(m_backend->createConversation()); });
    connect(settings, &QPushButton::clicked, this, &MainWindow::showSettings);
    connect(m_search, &QLineEdit::textChanged, this, &MainWindow::refreshConversations);
    connect(m_list, &QListWidget::currentItemChanged, this, [this](QListWidgetItem* it) {
        if (it && it->data(Qt::UserRole).toLongLong() != m_current) openConversation(it->data(Qt::UserRole).toLongLong());
    });
    connect(m_list, &QListWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        QListWidgetItem* it = m_list->itemAt(pos);
        if (!it) return;
        const qint64 id = it->data(Qt::UserRole).toLongLong();
        QMenu        menu;
        menu.addAction(tr("Rename…"), this, [this, id, it] {
            bool          ok;
            const QString t = QInputDialog::getText(this, tr("Rename"), tr("Title"), QLineEdit::Normal, it->text(), &ok);
            if (ok && !t.trimmed().isEmpty()) m_backend->renameConversation(id, t.trimmed());
        });
        menu.addAction(tr("Delete"), this, [this, id, it] {
            const QString title = it->text();
            m_backend->deleteConversation(id);
            if (id == m_current) openConversation(0);
            // Undo instead of a confirmation: deleted chats stay in the trash for 30 days.
            m_banner->setText(tr("Deleted “%1”. <a href=\"undo\">Undo</a>").arg(title.toHtmlEscaped()));
            m_banner->setTextFormat(Qt::RichText);
            m_banner->show();
            disconnect(m_banner, &QLabel::linkActivated, nullptr, nullptr);
            connect(m_banner, &QLabel::linkActivated, this, [this, id] {
                m_backend->restoreConversation(id);
                m_banner->hide();
                openConversation(id);
            });
            QTimer::singleShot(15000, m_banner, &QLabel::hide);
        });
        menu.exec(m_list->mapToGlobal(pos));
    });
    connect(m_composer, &Composer::sendRequested, this, &MainWindow::send);
    connect(m_composer, &Composer::stopRequested, m_backend, &ChatBackend::stop);

    connect(m_backend, &ChatBackend::conversationsChanged, this, &MainWindow::refreshConversations);
    connect(m_backend, &ChatBackend::messagesReset, this, [this](qint64 conv) {
        if (conv == m_current) reloadMessages();
    });
    connect(m_backend, &ChatBackend::generationStarted, this, [this](qint64 conv, qint64) {
        if (conv == m_current) reloadMessages();
        updateActions();
    });
    connect(m_backend, &ChatBackend::thinkingDelta, this, [this](qint64 id, const QString& t) {
        if (auto* w = assistantWidget(id)) {
            w->appendThinking(t);
            scrollToBottomSoon();
        }
    });
    connect(m_backend, &ChatBackend::answerDelta, this, [this](qint64 id, const QString& t, bool boxed) {
        if (auto* w = assistantWidget(id)) {
            w->appendAnswer(t, boxed);
            scrollToBottomSoon();
        }
    });
    connect(m_backend, &ChatBackend::generationFinished, this, [this](qint64 id, const MessageView& m) {
        if (auto* w = assistantWidget(id)) w->finish(m);
        updateActions();
    });
    connect(m_backend, &ChatBackend::errorOccurred, this, [this](const QString& msg) {
        m_banner->setTextFormat(Qt::PlainText);
        m_banner->setText(msg);
        m_banner->show();
        updateActions();
    });
    connect(m_backend, &ChatBackend::modelStatusChanged, this, [this] {
        m_modelStatus->setText(m_backend->modelStatus());
        updateActions();
    });

    m_modelStatus->setText(m_backend->modelStatus());
    m_composer->setMaxImages(m_backend->settings().value("maxImagesPerTurn", 10).toInt());
    refreshConversations();
    const auto convs = m_backend->conversations({});
    openConversation(convs.isEmpty() ? 0 : convs.first().id);
}

void MainWindow::showSettings() {
    SettingsDialog d(m_backend, this);
    if (d.exec() == QDialog::Accepted) {
        m_backend->applySettings(d.values());
        m_composer->setMaxImages(d.values().value("maxImagesPerTurn", 10).toInt());
    }
}

void MainWindow::submitPrompt(const QString& text, const QStringList& files) {
    m_composer->addFiles(files);
    m_composer->editor()->setPlainText(text);
    emit m_composer->editor()->submit();
}

void MainWindow::refreshConversations() {
    const auto items = m_backend->conversations(m_search->text());
    m_list->blockSignals(true);
    m_list->clear();
    for (const ConversationRef& c : items) {
        auto* it = new QListWidgetItem(c.title, m_list);
        it->setData(Qt::UserRole, c.id);
        if (c.id == m_current) m_list->setCurrentItem(it);
    }
    m_list->blockSignals(false);
}

void MainWindow::openConversation(qint64 id) {
    m_current = id;
    refreshConversations();
    reloadMessages();
}

AssistantMessageWidget* MainWindow::assistantWidget(qint64 messageId) const {
    for (auto* w : m_messagesHost->findChildren<AssistantMessageWidget*>())
        if (w->messageId() == messageId) return w;
    return nullptr;
}

QList<AssistantMessageWidget*> MainWindow::assistantWidgets() const {
    return m_messagesHost->findChildren<AssistantMessageWidget*>();
}

void MainWindow::addMessageWidget(const MessageView& m) {
    QWidget* w;
    if (m.role == "user") {
        auto* u = new UserMessageWidget(m, m_messagesHost);
        connect(u, &UserMessageWidget::editSubmitted, this, [this](qint64 mid, const QString& text) {
            if (!m_backend->busy()) m_backend->editAndResend(m_current, mid, text);
        });
        w = u;
    } else {
        auto* a = new AssistantMessageWidget(m, m_messagesHost);
        connect(a, &AssistantMessageWidget::regenerateRequested, this, [this] {
            if (!m_backend->busy()) m_backend->regenerate(m_current);
        });
        if (!m_search->text().isEmpty()) a->highlight(m_search->text());
        w = a;
    }
    m_messagesLayout->insertWidget(m_messagesLayout->count() - 1, w);
}

void MainWindow::reloadMessages() {
    while (m_messagesLayout->count() > 1) {
        QLayoutItem* item = m_messagesLayout->takeAt(0);
        delete item->widget();
        delete item;
    }
    if (m_current)
        for (const MessageView& m : m_backend->messages(m_current)) addMessageWidget(m);
    updateActions();
    scrollToBottomSoon();
}

void MainWindow::updateActions() {
    const bool busy = m_backend->busy();
    m_composer->setBusy(busy);
    const auto assistants = assistantWidgets();
    for (auto* a : assistants) a->setRegenerateVisible(!busy && a == assistants.last());
    for (auto* u : m_messagesHost->findChildren<UserMessageWidget*>()) u->setEditable(!busy);
}

void MainWindow::scrollToBottomSoon() {
    QTimer::singleShot(0, this, [this] { m_scroll->verticalScrollBar()->setValue(m_scroll->verticalScrollBar()->maximum()); });
}

void MainWindow::send(const QString& text, const QList<AttachmentRef>& attachments) {
    if (!m_backend->modelReady()) {
        m_banner->setTextFormat(Qt::PlainText);
        m_banner->setText(tr("No model is ready: %1. Open Settings to choose a model folder, or File → Download a model….")
                              .arg(m_backend->modelStatus()));
        m_banner->show();
        return;
    }
    if (!m_current) m_current = m_backend->createConversation();
    m_banner->hide();
    m_backend->send(m_current, text, attachments);
    m_composer->clearAll();
    refreshConversations();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
    if (e->mimeData()->hasUrls() || e->mimeData()->hasImage()) e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e) {
    QStringList files;
    for (const QUrl& u : e->mimeData()->urls())
        if (u.isLocalFile()) files << u.toLocalFile();
    m_composer->addFiles(files);
    e->acceptProposedAction();
}

} // namespace glmv::ui
