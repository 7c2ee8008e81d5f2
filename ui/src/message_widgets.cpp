#include "message_widgets.h"

#include <QAbstractTextDocumentLayout>
#include <QApplication>
#include <QClipboard>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QImageReader>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTextBlock>
#include <QTextCursor>
#include <QTextDocument>
#include <QToolButton>
#include <QVBoxLayout>

#include "glmv/ui/rich_text.h"

namespace glmv::ui {

FittedTextBrowser::FittedTextBrowser(QWidget* parent) : QTextBrowser(parent) {
    setReadOnly(true);
    setOpenExternalLinks(true);
    setFrameShape(QFrame::NoFrame);
    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    connect(document()->documentLayout(), &QAbstractTextDocumentLayout::documentSizeChanged, this, [this] { refit(); });
}

QSize FittedTextBrowser::sizeHint() const {
    return {QTextBrowser::sizeHint().width(), int(document()->size().height()) + 6};
}

void FittedTextBrowser::refit() {
    document()->setTextWidth(viewport()->width());
    setFixedHeight(int(document()->size().height()) + 6);
}

void FittedTextBrowser::resizeEvent(QResizeEvent* e) {
    QTextBrowser::resizeEvent(e);
    refit();
}

// ---------------------------------------------------------------------------------------------------------------

namespace {

QWidget* attachmentThumb(const AttachmentRef& a, QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setObjectName("attachmentThumb");
    label->setToolTip(a.displayName);
    if (a.kind == "image") {
        QImageReader reader(a.path);
        reader.setAutoTransform(true);
        const QSize sz = reader.size();
        if (sz.isValid()) reader.setScaledSize(sz.scaled(160, 120, Qt::KeepAspectRatio));
        QImage img = reader.read();
        if (!img.isNull()) {
            label->setPixmap(QPixmap::fromImage(img));
            return label;
        }
    }
    QString text = a.kind == "video" ? "🎞 " : a.kind == "pdf" ? "📄 " : "📎 ";
    text += a.displayName;
    if (a.kind == "pdf" && (a.firstPage > 1 || a.lastPage > 0))
        text += a.lastPage > 0 ? QString(" (pages %1–%2)").arg(a.firstPage).arg(a.lastPage)
                               : QString(" (from page %1)").arg(a.firstPage);
    label->setText(text);
    label->setStyleSheet("QLabel { border: 1px solid palette(mid); border-radius: 6px; padding: 6px; }");
    return label;
}

// Applies a highlight to the spans between kBoxOpen/kBoxClose markers and removes the markers.
void highlightBoxes(QTextDocument* doc) {
    QTextCursor open = doc->find(kBoxOpen);
    while (!open.isNull()) {
        QTextCursor close = doc->find(kBoxClose, open);
        if (close.isNull()) {
            open.removeSelectedText();
            break;
        }
        QTextCursor span(doc);
        span.setPosition(open.selectionEnd());
        span.setPosition(close.selectionStart(), QTextCursor::KeepAnchor);
        QTextCharFormat f;
        f.setBackground(QColor(255, 236, 153));
        f.setForeground(QColor(40, 30, 0));
        f.setFontWeight(QFont::Bold);
        span.mergeCharFormat(f);
        close.removeSelectedText();
        open.removeSelectedText();
        open = doc->find(kBoxOpen);
    }
}

} // namespace

UserMessageWidget::UserMessageWidget(const MessageView& m, QWidget* parent) : QFrame(parent), m_message(m) {
    setObjectName("userMessage");
    setStyleSheet("#userMessage { background: palette(alternate-base); border-radius: 10px; }");
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(12, 8, 12, 8);
    auto* who = new QLabel("<b>You</b>", this);
    v->addWidget(who);
    if (!m.attachments.isEmpty()) {
        auto* row = new QHBoxLayout;
        for (const AttachmentRef& a : m.attachments) row->addWidget(attachmentThumb(a, this));
        row->addStretch();
        v->addLayout(row);
    }
    m_text = new QLabel(m.text.toHtmlEscaped().replace("\n", "<br>"), this);
    m_text->setObjectName("userText");
    m_text->setWordWrap(true);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    v->addWidget(m_text);
    m_editor = new QPlainTextEdit(this);
    m_editor->hide();
    v->addWidget(m_editor);
    m_editRow    = new QWidget(this);
    auto* er     = new QHBoxLayout(m_editRow);
    auto* resend = new QPushButton(tr("Send edited message"), m_editRow);
    resend->setObjectName("resendButton");
    auto* cancel = new QPushButton(tr("Cancel"), m_editRow);
    er->setContentsMargins(0, 0, 0, 0);
    er->addStretch();
    er->addWidget(cancel);
    er->addWidget(resend);
    m_editRow->hide();
    v->addWidget(m_editRow);
    m_editBtn = new QPushButton(tr("Edit"), this);
    m_editBtn->setObjectName("editButton");
    m_editBtn->setFlat(true);
    m_editBtn->setToolTip(tr("Edit this message and continue the conversation from here"));
    auto* br = new QHBoxLayout;
    br->addStretch();
    br->addWidget(m_editBtn);
    v->addLayout(br);
    connect(m_editBtn, &QPushButton::clicked, this, &UserMessageWidget::startEdit);
    connect(cancel, &QPushButton::clicked, this, [this] {
        m_editor->hide();
        m_editRow->hide();
        m_text->show();
        m_editBtn->show();
    });
    connect(resend, &QPushButton::clicked, this, [this] {
        const QString t = m_editor->toPlainText().trimmed();
        if (!t.isEmpty()) emit editSubmitted(m_message.id, t);
    });
}

void UserMessageWidget::setEditable(bool editable) { m_editBtn->setVisible(editable); }

void UserMessageWidget::startEdit() {
    m_editor->setPlainText(m_message.text);
    m_text->hide();
    m_editBtn->hide();
    m_editor->show();
    m_editRow->show();
    m_editor->setFocus();
}

// ---------------------------------------------------------------------------------------------------------------

AssistantMessageWidget::AssistantMessageWidget(const MessageView& m, QWidget* parent) : QFrame(parent), m_message(m) {
    setObjectName("assistantMessage");
    m_streaming = m.state == "streaming";
    auto* v     = new QVBoxLayout(this);
    v->setContentsMargins(12, 8, 12, 8);
    v->addWidget(new QLabel("<b>GLM-4.1V</b>", this));

    m_thinkingHeader = new QToolButton(this);
    m_thinkingHeader->setObjectName("thinkingHeader");
    m_thinkingHeader->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_thinkingHeader->setAutoRaise(true);
    m_thinkingHeader->setCheckable(true);
    v->addWidget(m_thinkingHeader);
    m_thinkingView = new FittedTextBrowser(this);
    m_thinkingView->setObjectName("thinkingView");
    m_thinkingView->setStyleSheet("QTextBrowser { color: palette(mid); border-left: 3px solid palette(mid); "
                                  "padding-left: 8px; font-style: italic; }");
    m_thinkingView->setPlainText(m.thinking);
    v->addWidget(m_thinkingView);
    connect(m_thinkingHeader, &QToolButton::toggled, this, [this](bool on) { setThinkingExpanded(on); });

    m_answerBox    = new QWidget(this);
    m_answerLayout = new QVBoxLayout(m_answerBox);
    m_answerLayout->setContentsMargins(0, 0, 0, 0);
    v->addWidget(m_answerBox);

    auto* actions = new QHBoxLayout;
    m_stats       = new QLabel(this);
    m_stats->setObjectName("statsLabel");
    m_stats->setStyleSheet("color: palette(mid);");
    actions->addWidget(m_stats);
    actions->addStretch();
    m_sourceToggle = new QPushButton(tr("Show source"), this);
    m_sourceToggle->setObjectName("sourceToggle");
    m_sourceToggle->setFlat(true);
    m_sourceToggle->setCheckable(true);
    m_sourceToggle->setToolTip(tr("Show the raw Markdown and LaTeX the model wrote"));
    auto* copy = new QPushButton(tr("Copy"), this);
    copy->setFlat(true);
    m_regenerate = new QPushButton(tr("Regenerate"), this);
    m_regenerate->setObjectName("regenerateButton");
    m_regenerate->setFlat(true);
    actions->addWidget(m_sourceToggle);
    actions->addWidget(copy);
    actions->addWidget(m_regenerate);
    v->addLayout(actions);
    connect(m_sourceToggle, &QPushButton::toggled, this, [this](bool on) {
        m_showSource = on;
        renderAnswer();
    });
    connect(copy, &QPushButton::clicked, this, [this] {
        QString t = m_message.text;
        t.remove(kBoxOpen).remove(kBoxClose);
        QApplication::clipboard()->setText(t);
    });
    connect(m_regenerate, &QPushButton::clicked, this, &AssistantMessageWidget::regenerateRequested);

    m_tick.setInterval(1000);
    connect(&m_tick, &QTimer::timeout, this, &AssistantMessageWidget::updateThinkingHeader);
    m_renderThrottle.setSingleShot(true);
    m_renderThrottle.setInterval(40);
    connect(&m_renderThrottle, &QTimer::timeout, this, &AssistantMessageWidget::renderAnswer);
    if (m_streaming) {
        m_clock.start();
        m_tick.start();
        m_regenerate->hide();
    }
    setThinkingExpanded(m_streaming && m.text.isEmpty());
    updateThinkingHeader();
    renderAnswer();
    finish(m);
}

bool AssistantMessageWidget::thinkingExpanded() const { return m_thinkingView->isVisible() || m_thinkingHeader->isChecked(); }
QString AssistantMessageWidget::thinkingHeaderText() const { return m_thinkingHeader->text(); }

void AssistantMessageWidget::setThinkingExpanded(bool expanded) {
    m_thinkingHeader->blockSignals(true);
    m_thinkingHeader->setChecked(expanded);
    m_thinkingHeader->blockSignals(false);
    m_thinkingHeader->setArrowType(expanded ? Qt::DownArrow : Qt::RightArrow);
    m_thinkingView->setVisible(expanded && !m_message.thinking.isEmpty());
}

void AssistantMessageWidget::updateThinkingHeader() {
    const bool hasThinking = !m_message.thinking.isEmpty();
    m_thinkingHeader->setVisible(hasThinking || (m_streaming && m_message.text.isEmpty()));
    if (m_streaming && m_message.text.isEmpty()) {
        const double secs = m_clock.isValid() ? m_clock.elapsed() / 1000.0 : 0;
        m_thinkingHeader->setText(tr("Thinking… %1 s").arg(int(secs)));
    } else {
        const double secs = m_message.thinkingSeconds > 0 ? m_message.thinkingSeconds
                                                          : (m_clock.isValid() ? m_clock.elapsed() / 1000.0 : 0);
        m_thinkingHeader->setText(tr("Thought for %1 s").arg(qMax(1, int(secs + 0.5))));
    }
}

void AssistantMessageWidget::appendThinking(const QString& text) {
    m_message.thinking += text;
    QTextCursor c(m_thinkingView->document());
    c.movePosition(QTextCursor::End);
    c.insertText(text);
    if (m_thinkingHeader->isChecked()) m_thinkingView->show();
    updateThinkingHeader();
}

void AssistantMessageWidget::appendAnswer(const QString& text, bool boxed) {
    const bool first = m_message.text.isEmpty();
    m_message.text += boxed ? kBoxOpen + text + kBoxClose : text;
    if (first && !m_message.thinking.isEmpty()) {
        // The answer started: thinking collapses to "Thought for N s".
        m_message.thinkingSeconds = m_clock.isValid() ? m_clock.elapsed() / 1000.0 : 0;
        setThinkingExpanded(false);
    }
    updateThinkingHeader();
    if (!m_renderThrottle.isActive()) m_renderThrottle.start();
}

QString AssistantMessageWidget::renderedAnswerPlainText() const {
    QString out;
    for (auto* tb : m_answerBox->findChildren<QTextBrowser*>()) out += tb->toPlainText() + "\n";
    for (auto* pe : m_answerBox->findChildren<QPlainTextEdit*>()) out += pe->toPlainText() + "\n";
    return out;
}

void AssistantMessageWidget::renderAnswer() {
    while (QLayoutItem* item = m_answerLayout->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    QString text = m_message.text;
    // Merge adjacent boxed spans produced by separate deltas.
    text.replace(kBoxClose + kBoxOpen, QString());
    if (m_showSource) {
        auto* raw = new QPlainTextEdit(m_answerBox);
        raw->setReadOnly(true);
        QString plain = text;
        raw->setPlainText(plain.replace(kBoxOpen, "<|begin_of_box|>").replace(kBoxClose, "<|end_of_box|>"));
        raw->setFont(QFont("monospace"));
        raw->setMinimumHeight(120);
        m_answerLayout->addWidget(raw);
        return;
    }
    for (const MarkdownBlock& b : splitCodeBlocks(text)) {
        if (b.code) {
            auto* frame = new QFrame(m_answerBox);
            frame->setObjectName("codeBlock");
            frame->setStyleSheet("#codeBlock { border: 1px solid palette(mid); border-radius: 6px; }");
            auto* fl     = new QVBoxLayout(frame);
            auto* header = new QHBoxLayout;
            header->addWidget(new QLabel(b.language.isEmpty() ? tr("code") : b.language, frame));
            header->addStretch();
            auto* copy = new QPushButton(tr("Copy code"), frame);
            copy->setObjectName("copyCodeButton");
            copy->setFlat(true);
            const QString code = b.text;
            connect(copy, &QPushButton::clicked, this, [code] { QApplication::clipboard()->setText(code); });
            header->addWidget(copy);
            fl->addLayout(header);
            auto* view = new QPlainTextEdit(frame);
            view->setReadOnly(true);
            view->setPlainText(code);
            QFont mono("monospace");
            mono.setStyleHint(QFont::Monospace);
            view->setFont(mono);
            view->setLineWrapMode(QPlainTextEdit::NoWrap);
            const int lines = code.count('\n') + 1;
            view->setFixedHeight(qMin(400, QFontMetrics(mono).lineSpacing() * lines + 16));
            fl->addWidget(view);
            m_answerLayout->addWidget(frame);
        } else {
            auto* tb = new FittedTextBrowser(m_answerBox);
            tb->setObjectName("answerView");
            tb->document()->setMarkdown(renderMathInMarkdown(b.text));
            highlightBoxes(tb->document());
            m_answerLayout->addWidget(tb);
        }
    }
}

void AssistantMessageWidget::finish(const MessageView& f) {
    if (f.state == "streaming") return;
    m_streaming = false;
    m_tick.stop();
    const double secs = m_message.thinkingSeconds;
    m_message        = f;
    if (m_message.thinkingSeconds <= 0) m_message.thinkingSeconds = secs;
    m_thinkingView->setPlainText(m_message.thinking);
    setThinkingExpanded(false);
    updateThinkingHeader();
    renderAnswer();
    QStringList parts;
    if (f.ttftMs > 0) parts << tr("first token %1 ms").arg(qRound(f.ttftMs));
    if (f.tokensPerSecond > 0) parts << tr("%1 tokens/s").arg(f.tokensPerSecond, 0, 'f', 1);
    if (f.tokens > 0) parts << tr("%1 tokens").arg(f.tokens);
    if (f.state == "interrupted") parts << tr("interrupted");
    if (f.state == "error") parts << tr("failed");
    m_stats->setText(parts.join(" · "));
}

void AssistantMessageWidget::setRegenerateVisible(bool visible) { m_regenerate->setVisible(visible && !m_streaming); }

void AssistantMessageWidget::highlight(const QString& term) {
    if (term.isEmpty() || !m_message.thinking.contains(term, Qt::CaseInsensitive)) return;
    setThinkingExpanded(true);
    QTextDocument*  doc = m_thinkingView->document();
    QTextCharFormat f;
    f.setBackground(QColor(255, 230, 120));
    for (QTextCursor c = doc->find(term); !c.isNull(); c = doc->find(term, c)) c.mergeCharFormat(f);
}

} // namespace glmv::ui
