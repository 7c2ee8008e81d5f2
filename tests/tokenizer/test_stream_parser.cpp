// Thinking/answer stream parser: tags split at every position give the same segments.
#include <gtest/gtest.h>

#include "glmv/inference/stream_parser.h"

using namespace glmv;

namespace {

struct Flat {
    std::string thinking, answer, boxed;
};

Flat run(const std::vector<std::string>& chunks) {
    ThinkAnswerParser p;
    Flat              f;
    auto              take = [&](const std::vector<StreamSegment>& segs) {
        for (const auto& s : segs) {
            (s.channel == StreamChannel::thinking ? f.thinking : f.answer) += s.text;
            if (s.boxed) f.boxed += s.text;
        }
    };
    for (const auto& c : chunks) take(p.push(c));
    take(p.finish());
    return f;
}

} // namespace

TEST(StreamParser, SplitsEveryWayGivesTheSameResult) {
    const std::string text = "<think>Count: 1, 2 < 3.</think>\n<answer>There are <|begin_of_box|>3<|end_of_box|> dogs.</answer>";
    Flat whole = run({text});
    EXPECT_EQ(whole.thinking, "Count: 1, 2 < 3.");
    EXPECT_EQ(whole.answer, "There are 3 dogs.");
    EXPECT_EQ(whole.boxed, "3");
    for (size_t a = 0; a <= text.size(); ++a)
        for (size_t b = a; b <= text.size(); b += 3) {
            Flat f = run({text.substr(0, a), text.substr(a, b - a), text.substr(b)});
            EXPECT_EQ(f.thinking, whole.thinking) << a << "," << b;
            EXPECT_EQ(f.answer, whole.answer) << a << "," << b;
            EXPECT_EQ(f.boxed, whole.boxed) << a << "," << b;
        }
}

TEST(StreamParser, ToleratesMissingAndUnbalancedTags) {
    EXPECT_EQ(run({"just an answer"}).answer, "just an answer");
    Flat f = run({"<think>reasoning<answer>42</answer>"});
    EXPECT_EQ(f.thinking, "reasoning");
    EXPECT_EQ(f.answer, "42");
    f = run({"<think>r</think>no answer tag"});
    EXPECT_EQ(f.answer, "no answer tag");
    f = run({"<think>still thinking when cut off"});
    EXPECT_EQ(f.thinking, "still thinking when cut off");
    EXPECT_EQ(f.answer, "");
    f = run({"</answer>x</think>y"});
    EXPECT_EQ(f.answer, "xy");
    f = run({"\n <think>r</think>\t\n<answer>a</answer>"});
    EXPECT_EQ(f.thinking, "r");
    EXPECT_EQ(f.answer, "a");
    // Found by fuzz_think_splitter: whitespace after </think> then text, fed byte by byte.
    f = run({"</think>", "\t", "\t", " ", "x"});
    EXPECT_EQ(f.answer, "\t\t x");
    f = run({"a <b> tag-like text <thin"});
    EXPECT_EQ(f.answer, "a <b> tag-like text <thin");
}
