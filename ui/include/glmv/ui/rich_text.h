// Text helpers for answers: LaTeX math to readable Unicode, splitting Markdown around fenced code blocks.
#pragma once

#include <QList>
#include <QString>

namespace glmv::ui {

// "$\frac{\alpha}{2} + x^{2}$" → "α⁄2 + x²": Greek letters, common operators, \frac, \sqrt, ^/_ (Unicode super/
// subscripts where they exist, else ^(…) / _(…)), \text{…}, \mathbb{R}. Unknown commands keep their name.
QString latexToUnicode(const QString& tex);

// Replaces every math span ($…$, $$…$$, \(…\), \[…\]) of a Markdown text by its Unicode rendering (display math on
// its own line). Code spans and fences are left alone.
QString renderMathInMarkdown(const QString& markdown);

struct MarkdownBlock {
    bool    code = false;
    QString language; // for code blocks
    QString text;
};
// Splits Markdown into prose and fenced code blocks (``` or ~~~), in order.
QList<MarkdownBlock> splitCodeBlocks(const QString& markdown);

} // namespace glmv::ui
