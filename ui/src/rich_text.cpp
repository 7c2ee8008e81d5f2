#include "glmv/ui/rich_text.h"

#include <QHash>
#include <QRegularExpression>

namespace glmv::ui {

namespace {

const QHash<QString, QString>& symbols() {
    static const QHash<QString, QString> s = {
        {"alpha", "α"},   {"beta", "β"},     {"gamma", "γ"},   {"delta", "δ"},    {"epsilon", "ε"},  {"varepsilon", "ε"},
        {"zeta", "ζ"},    {"eta", "η"},      {"theta", "θ"},   {"vartheta", "ϑ"}, {"iota", "ι"},     {"kappa", "κ"},
        {"lambda", "λ"},  {"mu", "μ"},       {"nu", "ν"},      {"xi", "ξ"},       {"pi", "π"},       {"rho", "ρ"},
        {"sigma", "σ"},   {"tau", "τ"},      {"upsilon", "υ"}, {"phi", "φ"},      {"varphi", "φ"},   {"chi", "χ"},
        {"psi", "ψ"},     {"omega", "ω"},    {"Gamma", "Γ"},   {"Delta", "Δ"},    {"Theta", "Θ"},    {"Lambda", "Λ"},
        {"Xi", "Ξ"},      {"Pi", "Π"},       {"Sigma", "Σ"},   {"Phi", "Φ"},      {"Psi", "Ψ"},      {"Omega", "Ω"},
        {"times", "×"},   {"cdot", "·"},     {"div", "÷"},     {"pm", "±"},       {"mp", "∓"},       {"le", "≤"},
        {"leq", "≤"},     {"ge", "≥"},       {"geq", "≥"},     {"neq", "≠"},      {"ne", "≠"},       {"approx", "≈"},
        {"equiv", "≡"},   {"sim", "∼"},      {"propto", "∝"},  {"infty", "∞"},    {"partial", "∂"},  {"nabla", "∇"},
        {"sum", "∑"},     {"prod", "∏"},     {"int", "∫"},     {"oint", "∮"},     {"in", "∈"},       {"notin", "∉"},
        {"subset", "⊂"},  {"subseteq", "⊆"}, {"cup", "∪"},     {"cap", "∩"},      {"emptyset", "∅"}, {"forall", "∀"},
        {"exists", "∃"},  {"neg", "¬"},      {"land", "∧"},    {"lor", "∨"},      {"to", "→"},       {"rightarrow", "→"},
        {"leftarrow", "←"}, {"Rightarrow", "⇒"}, {"Leftrightarrow", "⇔"}, {"mapsto", "↦"}, {"angle", "∠"},
        {"degree", "°"},  {"circ", "∘"},     {"ldots", "…"},   {"cdots", "⋯"},    {"dots", "…"},     {"quad", "  "},
        {"qquad", "    "}, {",", " "},       {";", " "},       {"!", ""},         {"left", ""},      {"right", ""},
        {"{", "{"},       {"}", "}"},        {"%", "%"},       {"$", "$"},        {"perp", "⊥"},     {"parallel", "∥"},
        {"triangle", "△"}, {"sin", "sin"},   {"cos", "cos"},   {"tan", "tan"},    {"log", "log"},    {"ln", "ln"},
        {"lim", "lim"},   {"max", "max"},    {"min", "min"},   {"exp", "exp"},
    };
    return s;
}

QString toScript(const QString& s, bool super) {
    static const QString digitsSup = "⁰¹²³⁴⁵⁶⁷⁸⁹", digitsSub = "₀₁₂₃₄₅₆₇₈₉";
    static const QHash<QChar, QChar> sup = {{'+', u'⁺'}, {'-', u'⁻'}, {'=', u'⁼'}, {'(', u'⁽'}, {')', u'⁾'},
                                            {'n', u'ⁿ'}, {'i', u'ⁱ'}, {'x', u'ˣ'}, {'T', u'ᵀ'}, {'a', u'ᵃ'},
                                            {'b', u'ᵇ'}, {'c', u'ᶜ'}, {'d', u'ᵈ'}, {'e', u'ᵉ'}, {'k', u'ᵏ'},
                                            {'m', u'ᵐ'}, {'t', u'ᵗ'}, {u'−', u'⁻'}, {u'′', u'′'}};
    static const QHash<QChar, QChar> sub = {{'+', u'₊'}, {'-', u'₋'}, {'=', u'₌'}, {'(', u'₍'}, {')', u'₎'},
                                            {'a', u'ₐ'}, {'e', u'ₑ'}, {'i', u'ᵢ'}, {'j', u'ⱼ'}, {'k', u'ₖ'},
                                            {'n', u'ₙ'}, {'o', u'ₒ'}, {'x', u'ₓ'}, {'t', u'ₜ'}, {'m', u'ₘ'},
                                            {'p', u'ₚ'}, {'s', u'ₛ'}, {u'−', u'₋'}};
    QString out;
    for (QChar c : s) {
        if (c.isDigit()) out += (super ? digitsSup : digitsSub)[c.digitValue()];
        else if ((super ? sup : sub).contains(c)) out += (super ? sup : sub)[c];
        else return super ? "^(" + s + ")" : "_(" + s + ")";
    }
    return out;
}

// Reads a {group} or a single token at pos; returns its converted text.
QString readArgument(const QString& t, int& pos);

QString convert(const QString& t, int& pos, bool untilBrace) {
    QString out;
    while (pos < t.size()) {
        const QChar c = t[pos];
        if (c == '}' && untilBrace) {
            ++pos;
            return out;
        }
        if (c == '{') {
            ++pos;
            out += convert(t, pos, true);
        } else if (c == '^' || c == '_') {
            ++pos;
            out += toScript(readArgument(t, pos), c == '^');
        } else if (c == '\\') {
            ++pos;
            int start = pos;
            if (pos < t.size() && !t[pos].isLetter()) ++pos;
            else
                while (pos < t.size() && t[pos].isLetter()) ++pos;
            const QString cmd = t.mid(start, pos - start);
            if (cmd == "frac" || cmd == "dfrac" || cmd == "tfrac") {
                QString num = readArgument(t, pos), den = readArgument(t, pos);
                auto wrap = [](const QString& s) { return s.size() > 1 && !s.startsWith('(') ? "(" + s + ")" : s; };
                out += wrap(num) + "⁄" + wrap(den);
            } else if (cmd == "sqrt") {
                QString arg = readArgument(t, pos);
                out += arg.size() > 1 ? "√(" + arg + ")" : "√" + arg;
            } else if (cmd == "text" || cmd == "mathrm" || cmd == "textbf" || cmd == "mathbf" || cmd == "operatorname" ||
                       cmd == "mathit" || cmd == "boxed") {
                out += readArgument(t, pos);
            } else if (cmd == "mathbb") {
                QString a = readArgument(t, pos);
                static const QHash<QString, QString> bb = {{"R", "ℝ"}, {"N", "ℕ"}, {"Z", "ℤ"}, {"Q", "ℚ"}, {"C", "ℂ"}};
                out += bb.value(a, a);
            } else if (cmd == "overline" || cmd == "bar") {
                QString a = readArgument(t, pos);
                for (QChar ch : a) out += QString(ch) + QChar(0x0305);
            } else if (cmd == "vec") {
                out += readArgument(t, pos) + QChar(0x20D7);
            } else if (cmd == "hat") {
                out += readArgument(t, pos) + QChar(0x0302);
            } else if (symbols().contains(cmd)) {
                out += symbols()[cmd];
            } else {
                out += cmd; // unknown command: its name is the most readable fallback
            }
        } else {
            out += c;
            ++pos;
        }
    }
    return out;
}

QString readArgument(const QString& t, int& pos) {
    while (pos < t.size() && t[pos] == ' ') ++pos;
    if (pos >= t.size()) return {};
    if (t[pos] == '{') {
        ++pos;
        return convert(t, pos, true);
    }
    if (t[pos] == '\\') {
        QString single;
        int     p = pos;
        ++p;
        if (p < t.size() && !t[p].isLetter()) ++p;
        else
            while (p < t.size() && t[p].isLetter()) ++p;
        QString sub = t.mid(pos, p - pos);
        int     q   = 0;
        pos         = p;
        return convert(sub, q, false);
    }
    return QString(t[pos++]);
}

} // namespace

QString latexToUnicode(const QString& tex) {
    int pos = 0;
    return convert(tex, pos, false).simplified();
}

QString renderMathInMarkdown(const QString& md) {
    static const QRegularExpression math(
        R"((```[\s\S]*?```|`[^`\n]*`)|\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\]|\\\(([\s\S]+?)\\\)|\$([^\$\n]+?)\$)");
    QString out;
    int     last = 0;
    for (auto it = math.globalMatch(md); it.hasNext();) {
        auto m = it.next();
        out += md.mid(last, m.capturedStart() - last);
        if (!m.captured(1).isEmpty()) out += m.captured(1); // code: untouched
        else if (!m.captured(2).isEmpty()) out += "\n\n*" + latexToUnicode(m.captured(2)) + "*\n\n";
        else if (!m.captured(3).isEmpty()) out += "\n\n*" + latexToUnicode(m.captured(3)) + "*\n\n";
        else if (!m.captured(4).isEmpty()) out += "*" + latexToUnicode(m.captured(4)) + "*";
        else out += "*" + latexToUnicode(m.captured(5)) + "*";
        last = m.capturedEnd();
    }
    return out + md.mid(last);
}

QList<MarkdownBlock> splitCodeBlocks(const QString& md) {
    QList<MarkdownBlock> out;
    const QStringList    lines = md.split('\n');
    MarkdownBlock        cur;
    QString              fence;
    for (const QString& line : lines) {
        const QString trimmed = line.trimmed();
        if (fence.isEmpty() && (trimmed.startsWith("```") || trimmed.startsWith("~~~"))) {
            if (!cur.text.trimmed().isEmpty()) out.push_back(cur);
            cur      = MarkdownBlock{true, trimmed.mid(3).trimmed(), {}};
            fence    = trimmed.left(3);
            continue;
        }
        if (!fence.isEmpty() && trimmed.startsWith(fence)) {
            out.push_back(cur);
            cur   = MarkdownBlock{};
            fence.clear();
            continue;
        }
        cur.text += (cur.text.isEmpty() && !cur.code ? "" : cur.text.isEmpty() ? "" : "\n") + line;
    }
    if (!cur.text.trimmed().isEmpty() || cur.code) out.push_back(cur);
    return out;
}

} // namespace glmv::ui
