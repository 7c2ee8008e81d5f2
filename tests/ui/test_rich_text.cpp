#include <gtest/gtest.h>

#include "glmv/ui/rich_text.h"

using namespace glmv::ui;

TEST(RichText, LatexBecomesReadableUnicode) {
    EXPECT_EQ(latexToUnicode("\\alpha + \\beta = \\gamma"), QString::fromUtf8("α + β = γ"));
    EXPECT_EQ(latexToUnicode("x^{2} + y_1"), QString::fromUtf8("x² + y₁"));
    EXPECT_EQ(latexToUnicode("\\frac{a+b}{2}"), QString::fromUtf8("(a+b)⁄2"));
    EXPECT_EQ(latexToUnicode("\\sqrt{x}"), QString::fromUtf8("√x"));
    EXPECT_EQ(latexToUnicode("\\sqrt{x+1} \\le 3 \\times \\pi"), QString::fromUtf8("√(x+1) ≤ 3 × π"));
    EXPECT_EQ(latexToUnicode("e^{i\\pi}"), QString::fromUtf8("e^(iπ)"));
    EXPECT_EQ(latexToUnicode("\\text{area} = \\pi r^2"), QString::fromUtf8("area = π r²"));
}

TEST(RichText, MathInMarkdownButNotInCode) {
    QString md = "Area is $\\pi r^2$ and `$x$` stays.\n\n$$\\frac{1}{2}$$";
    QString r  = renderMathInMarkdown(md);
    EXPECT_TRUE(r.contains(QString::fromUtf8("*π r²*")));
    EXPECT_TRUE(r.contains("`$x$`"));
    EXPECT_TRUE(r.contains(QString::fromUtf8("1⁄2")));
}

TEST(RichText, CodeBlocksAreSplitOut) {
    auto blocks = splitCodeBlocks("Intro\n```python\nprint(1)\nprint(2)\n```\nOutro");
    ASSERT_EQ(blocks.size(), 3);
    EXPECT_FALSE(blocks[0].code);
    EXPECT_TRUE(blocks[1].code);
    EXPECT_EQ(blocks[1].language, "python");
    EXPECT_EQ(blocks[1].text, "print(1)\nprint(2)");
    EXPECT_EQ(blocks[2].text, "Outro");
}
