#include "settings_dialog.h"

#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

#include "glmv/ui/chat_backend.h"

namespace glmv::ui {

SettingsDialog::SettingsDialog(ChatBackend* backend, QWidget* parent)
    : QDialog(parent), m_backend(backend), m_initial(backend->settings()) {
    setWindowTitle(tr("Settings"));
    auto* form = new QFormLayout(this);

    m_modelDir = new QLineEdit(m_initial.value("modelDir").toString(), this);
    m_modelDir->setObjectName("modelDir");
    m_modelDir->setPlaceholderText(tr("the bundled demo model"));
    auto* browse = new QPushButton(tr("Browse…"), this);
    auto* row    = new QHBoxLayout;
    row->addWidget(m_modelDir);
    row->addWidget(browse);
    form->addRow(tr("Model folder"), row);
    m_modelCheck = new QLabel(this);
    m_modelCheck->setObjectName("modelCheck");
    m_modelCheck->setWordWrap(true);
    form->addRow(QString(), m_modelCheck);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("GLM-4.1V model folder"), m_modelDir->text());
        if (!d.isEmpty()) m_modelDir->setText(d);
    });
    connect(m_modelDir, &QLineEdit::textChanged, this, &SettingsDialog::validateModel);

    auto* backendKind = new QComboBox(this);
    backendKind->setObjectName("backendKind");
    backendKind->addItem(tr("Embedded engine (this computer)"), "embedded");
    backendKind->addItem(tr("Remote server (OpenAI-compatible: vLLM, SGLang, glmv-server)"), "remote");
    backendKind->setCurrentIndex(m_initial.value("backend", "embedded").toString() == "remote" ? 1 : 0);
    m_fields["backend"] = backendKind;
    form->addRow(tr("Backend"), backendKind);
    auto text = [&](const char* key, const QString& label, const QString& placeholder, bool secret = false) {
        auto* e = new QLineEdit(m_initial.value(key).toString(), this);
        e->setObjectName(key);
        e->setPlaceholderText(placeholder);
        if (secret) e->setEchoMode(QLineEdit::Password);
        m_fields[key] = e;
        form->addRow(label, e);
    };
    text("remoteUrl", tr("Server URL"), "http://localhost:8000/v1");
    text("remoteApiKey", tr("API key"), tr("optional"), true);
    text("remoteModel", tr("Model name"), tr("first model the server lists"));

    auto* weights = new QComboBox(this);
    weights->addItems({"bf16", "q8", "q4"});
    weights->setCurrentText(m_initial.value("weights", "bf16").toString());
    weights->setToolTip(tr("bf16: as shipped (≈ 20 GB RAM for the 9B model); q8 ≈ half; q4 ≈ a third"));
    m_fields["weights"] = weights;
    form->addRow(tr("Weights"), weights);

    auto dbl = [&](const char* key, const QString& label, double lo, double hi, double step, int decimals) {
        auto* s = new QDoubleSpinBox(this);
        s->setRange(lo, hi);
        s->setSingleStep(step);
        s->setDecimals(decimals);
        s->setValue(m_initial.value(key).toDouble());
        m_fields[key] = s;
        form->addRow(label, s);
    };
    auto integer = [&](const char* key, const QString& label, int lo, int hi, const QString& special = {}) {
        auto* s = new QSpinBox(this);
        s->setRange(lo, hi);
        s->setValue(m_initial.value(key).toInt());
        if (!special.isEmpty()) s->setSpecialValueText(special);
        m_fields[key] = s;
        form->addRow(label, s);
    };
    dbl("temperature", tr("Temperature"), 0.0, 2.0, 0.05, 2);
    dbl("topP", tr("Top-p"), 0.00001, 1.0, 0.05, 5);
    integer("topK", tr("Top-k"), 0, 1000, tr("off"));
    dbl("repetitionPenalty", tr("Repetition penalty"), 1.0, 2.0, 0.05, 2);
    integer("maxNewTokens", tr("Max new tokens"), 16, 65536);
    integer("seed", tr("Seed"), 0, 2147483647);
    integer("thinkingBudget", tr("Thinking budget (tokens)"), -1, 65536, tr("unlimited"));
    auto* thinking = new QCheckBox(tr("Let the model think before answering"), this);
    thinking->setChecked(m_initial.value("enableThinking", true).toBool());
    m_fields["enableThinking"] = thinking;
    form->addRow(QString(), thinking);
    integer("maxImagePixels", tr("Max pixels per image"), 12544, 9633792);
    integer("threads", tr("CPU threads"), 0, 1024, tr("one per core"));
    auto* arithmetic = new QComboBox(this);
    arithmetic->setObjectName("promptArithmetic");
    arithmetic->addItem(tr("Automatic (bf16 where the CPU has it)"), "auto");
    arithmetic->addItem(tr("Exact (fp32, slower)"), "exact");
    arithmetic->addItem(tr("bf16"), "bf16");
    arithmetic->setCurrentIndex(std::max(0, arithmetic->findData(m_initial.value("promptArithmetic", "auto"))));
    arithmetic->setToolTip(
        tr("How prompts and images are multiplied. bf16, as the model is usually run, reads "
           "images and long prompts two to several times faster on CPUs with AVX512-BF16 or "
           "AMX; fp32 matches the reference exactly but is slower. Writing the answer runs at the same speed "
           "either way."));
    m_fields["promptArithmetic"] = arithmetic;
    form->addRow(tr("Prompt arithmetic"), arithmetic);
    integer("maxImagesPerTurn", tr("Images per message"), 1, 300);
    dbl("pdfDpi", tr("PDF render DPI"), 36, 600, 10, 0);
    integer("maxPdfPages", tr("PDF pages per message"), 1, 300);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    form->addRow(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    validateModel();
}

void SettingsDialog::validateModel() {
    const QString problem = m_backend->validateModelFolder(m_modelDir->text());
    m_modelCheck->setText(problem.isEmpty() ? tr("✓ A GLM-4.1V model folder.") : "⚠ " + problem);
    m_modelCheck->setStyleSheet(problem.isEmpty() ? "color: #2a7a2a;" : "color: #b25000;");
}

QVariantMap SettingsDialog::values() const {
    QVariantMap v = m_initial;
    v["modelDir"] = m_modelDir->text();
    for (auto it = m_fields.begin(); it != m_fields.end(); ++it) {
        if (auto* d = qobject_cast<QDoubleSpinBox*>(it.value())) v[it.key()] = d->value();
        else if (auto* s = qobject_cast<QSpinBox*>(it.value())) v[it.key()] = s->value();
        else if (auto* c = qobject_cast<QComboBox*>(it.value()))
            v[it.key()] = c->currentData().isValid() ? c->currentData().toString() : c->currentText();
        else if (auto* e = qobject_cast<QLineEdit*>(it.value())) v[it.key()] = e->text();
        else if (auto* b = qobject_cast<QCheckBox*>(it.value())) v[it.key()] = b->isChecked();
    }
    return v;
}

} // namespace glmv::ui
