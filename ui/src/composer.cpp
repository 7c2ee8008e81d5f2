#include "composer.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QImage>
#include <QImageReader>
#include <QKeyEvent>
#include <QLineEdit>
#include <QMimeData>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QToolButton>
#include <QUuid>
#include <QVBoxLayout>

namespace glmv::ui {

QString attachmentKindFor(const QString& path) {
    static const QStringList images = {"jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp"};
    static const QStringList videos = {"mp4", "avi", "mkv", "mov", "wmv", "flv", "webm", "mpeg", "mpg", "m4v"};
    static const QStringList office = {"ppt", "pptx", "doc", "docx", "odp", "odt"};
    const QString            ext    = QFileInfo(path).suffix().toLower();
    if (images.contains(ext)) return "image";
    if (videos.contains(ext)) return "video";
    if (ext == "pdf") return "pdf";
    if (office.contains(ext)) return "office";
    return {};
}

void PromptEdit::keyPressEvent(QKeyEvent* e) {
    if ((e->key() == Qt::Key_Return || e->key() == Qt::Key_Enter) && !(e->modifiers() & Qt::ShiftModifier)) {
        emit submit();
        return;
    }
    QPlainTextEdit::keyPressEvent(e);
}

bool PromptEdit::canInsertFromMimeData(const QMimeData* source) const {
    return source->hasImage() || source->hasUrls() || QPlainTextEdit::canInsertFromMimeData(source);
}

void PromptEdit::insertFromMimeData(const QMimeData* source) {
    QStringList files;
    if (source->hasUrls())
        for (const QUrl& u : source->urls())
            if (u.isLocalFile()) files << u.toLocalFile();
    if (files.isEmpty() && source->hasImage()) {
        // A pasted picture is saved as PNG so it can be attached like a file (the store copies it).
        QImage img = qvariant_cast<QImage>(source->imageData());
        if (!img.isNull()) {
            const QString path = QStandardPaths::writableLocation(QStandardPaths::TempLocation) + "/glmv-pasted-" +
                                 QUuid::createUuid().toString(QUuid::WithoutBraces) + ".png";
            if (img.save(path, "PNG")) files << path;
        }
    }
    if (files.isEmpty() && source->hasText()) {
        // Pasted text that is an existing file path becomes an attachment.
        const QString t = source->text().trimmed();
        if (!t.contains('\n') && QFileInfo(t).isFile() && !attachmentKindFor(t).isEmpty()) files << t;
    }
    if (!files.isEmpty()) {
        emit filesPasted(files);
        return;
    }
    QPlainTextEdit::insertFromMimeData(source);
}

Composer::Composer(ChatBackend* backend, QWidget* parent) : QWidget(parent), m_backend(backend) {
    auto* v   = new QVBoxLayout(this);
    m_chipRow = new QHBoxLayout;
    m_chipRow->addStretch();
    v->addLayout(m_chipRow);
    m_limits = new QLabel(this);
    m_limits->setObjectName("limitsLabel");
    m_limits->setWordWrap(true);
    m_limits->setStyleSheet("color: #b25000;");
    m_limits->hide();
    v->addWidget(m_limits);
    auto* row = new QHBoxLayout;
    m_attach  = new QPushButton(tr("Attach…"), this);
    m_attach->setObjectName("attachButton");
    m_attach->setToolTip(tr("Images, a video, a PDF or an Office document (or drop files onto the window)"));
    m_edit = new PromptEdit(this);
    m_edit->setObjectName("promptEdit");
    m_edit->setPlaceholderText(tr("Ask about your images, video or document… (Enter sends, Shift+Enter adds a line)"));
    m_edit->setMaximumHeight(120);
    m_send = new QPushButton(tr("Send"), this);
    m_send->setObjectName("sendButton");
    m_send->setDefault(true);
    m_stop = new QPushButton(tr("Stop"), this);
    m_stop->setObjectName("stopButton");
    m_stop->hide();
    row->addWidget(m_attach, 0, Qt::AlignBottom);
    row->addWidget(m_edit, 1);
    row->addWidget(m_send, 0, Qt::AlignBottom);
    row->addWidget(m_stop, 0, Qt::AlignBottom);
    v->addLayout(row);
    connect(m_edit, &PromptEdit::submit, this, &Composer::trySend);
    connect(m_send, &QPushButton::clicked, this, &Composer::trySend);
    connect(m_stop, &QPushButton::clicked, this, &Composer::stopRequested);
    connect(m_edit, &PromptEdit::filesPasted, this, &Composer::addFiles);
    connect(m_edit, &QPlainTextEdit::textChanged, this, &Composer::refreshLimits);
    connect(m_attach, &QPushButton::clicked, this, [this] {
        const QStringList files = QFileDialog::getOpenFileNames(
            this, tr("Attach files"), QString(),
            tr("Media and documents (*.png *.jpg *.jpeg *.gif *.bmp *.tif *.tiff *.webp *.mp4 *.avi *.mkv *.mov *.wmv "
               "*.flv *.webm *.mpeg *.mpg *.m4v *.pdf *.ppt *.pptx *.doc *.docx *.odp *.odt)"));
        addFiles(files);
    });
    refreshLimits();
}

void Composer::setMaxImages(int n) {
    m_maxImages = qBound(1, n, 300);
    refreshLimits();
}

void Composer::addFiles(const QStringList& paths) {
    for (const QString& p : paths) addChip(p);
    refreshLimits();
}

void Composer::addChip(const QString& path) {
    Chip c;
    const QString kind = attachmentKindFor(path);
    c.ref.path         = path;
    c.ref.displayName  = QFileInfo(path).fileName();
    c.ref.kind         = kind == "office" ? "pdf" : kind;
    if (kind.isEmpty()) c.problem = tr("%1 is not an image, video or document this app can read.").arg(c.ref.displayName);
    if (kind == "office" && !m_backend->officeConversionAvailable())
        c.problem = tr("%1 needs LibreOffice to be converted to PDF: install it (e.g. apt install libreoffice-impress "
                       "libreoffice-writer) or export the document as PDF.")
                        .arg(c.ref.displayName);
    auto* w = new QFrame(this);
    w->setObjectName("attachmentChip");
    w->setStyleSheet("#attachmentChip { border: 1px solid palette(mid); border-radius: 8px; }");
    auto* h     = new QHBoxLayout(w);
    auto* thumb = new QLabel(w);
    if (kind == "image") {
        QImageReader r(path);
        r.setAutoTransform(true);
        if (r.size().isValid()) r.setScaledSize(r.size().scaled(48, 48, Qt::KeepAspectRatio));
        QImage img = r.read();
        if (!img.isNull()) thumb->setPixmap(QPixmap::fromImage(img));
        else c.problem = tr("%1 cannot be read as an image: %2").arg(c.ref.displayName, r.errorString());
    } else {
        thumb->setText(kind == "video" ? "🎞" : kind.isEmpty() ? "⚠" : "📄");
    }
    h->addWidget(thumb);
    h->addWidget(new QLabel(c.ref.displayName, w));
    if (kind == "pdf" || kind == "office") {
        c.pages = new QLineEdit(w);
        c.pages->setObjectName("pageRange");
        c.pages->setPlaceholderText(tr("pages, e.g. 1-5"));
        c.pages->setMaximumWidth(110);
        if (kind == "pdf") {
            const int n = m_backend->pdfPageCount(path);
            if (n < 0) c.problem = tr("%1 cannot be opened as a PDF (damaged or password-protected).").arg(c.ref.displayName);
            else c.pages->setToolTip(tr("%1 pages").arg(n));
        }
        connect(c.pages, &QLineEdit::textChanged, this, &Composer::refreshLimits);
        h->addWidget(c.pages);
    }
    auto* remove = new QToolButton(w);
    remove->setObjectName("removeAttachment");
    remove->setText("✕");
    remove->setToolTip(tr("Remove"));
    h->addWidget(remove);
    connect(remove, &QToolButton::clicked, this, [this, w] { removeChip(w); });
    c.widget = w;
    m_chipRow->insertWidget(m_chipRow->count() - 1, w);
    m_chips.push_back(c);
}

void Composer::removeChip(QWidget* w) {
    for (int i = 0; i < m_chips.size(); ++i)
        if (m_chips[i].widget == w) {
            m_chips.removeAt(i);
            break;
        }
    w->setParent(nullptr); // out of the window at once; freed when the event loop runs
    w->deleteLater();
    refreshLimits();
}

QList<AttachmentRef> Composer::attachments() const {
    QList<AttachmentRef> out;
    static const QRegularExpression range(R"(^\s*(\d+)\s*(?:[-–]\s*(\d+)?)?\s*$)");
    for (const Chip& c : m_chips) {
        AttachmentRef a = c.ref;
        if (c.pages && !c.pages->text().trimmed().isEmpty()) {
            auto m = range.match(c.pages->text());
            if (m.hasMatch()) {
                a.firstPage = m.captured(1).toInt();
                a.lastPage  = m.captured(2).isEmpty() ? (c.pages->text().contains('-') ? 0 : a.firstPage) : m.captured(2).toInt();
            }
        }
        out.push_back(a);
    }
    return out;
}

void Composer::refreshLimits() {
    // Official demo limits (adjustable in Settings): ≤ N images, or one video, or one document; never mixed.
    int         images = 0, videos = 0, docs = 0;
    QStringList problems;
    static const QRegularExpression range(R"(^\s*(\d+)\s*(?:[-–]\s*(\d+)?)?\s*$)");
    for (const Chip& c : m_chips) {
        if (!c.problem.isEmpty()) problems << c.problem;
        if (c.ref.kind == "image") ++images;
        else if (c.ref.kind == "video") ++videos;
        else if (c.ref.kind == "pdf") ++docs;
        if (c.pages && !c.pages->text().trimmed().isEmpty()) {
            auto m = range.match(c.pages->text());
            if (!m.hasMatch() || m.captured(1).toInt() < 1 || (!m.captured(2).isEmpty() && m.captured(2).toInt() < m.captured(1).toInt()))
                problems << tr("The page range of %1 should look like 3 or 2-7.").arg(c.ref.displayName);
        }
    }
    if (images > m_maxImages)
        problems << tr("At most %1 images per message (you have %2). Remove some, or raise the limit in Settings (up to 300).")
                        .arg(m_maxImages).arg(images);
    if (videos > 1) problems << tr("One video per message: the model takes a single video at a time.");
    if (docs > 1) problems << tr("One document per message: send documents one at a time.");
    if ((images > 0) + (videos > 0) + (docs > 0) > 1)
        problems << tr("Images, videos and documents cannot be mixed in one message (as in the official demo): "
                       "send them in separate messages.");
    m_limits->setText(problems.join("\n"));
    m_limits->setVisible(!problems.isEmpty());
    m_send->setEnabled(canSend());
}

bool Composer::canSend() const {
    return !m_busy && m_limits->text().isEmpty() && (!m_edit->toPlainText().trimmed().isEmpty() || !m_chips.isEmpty());
}

void Composer::trySend() {
    if (!canSend()) return;
    emit sendRequested(m_edit->toPlainText().trimmed(), attachments());
}

void Composer::clearAll() {
    m_edit->clear();
    for (const Chip& c : m_chips) {
        c.widget->setParent(nullptr);
        c.widget->deleteLater();
    }
    m_chips.clear();
    refreshLimits();
}

void Composer::setBusy(bool busy) {
    m_busy = busy;
    m_stop->setVisible(busy);
    m_send->setVisible(!busy);
    refreshLimits();
}

} // namespace glmv::ui
