// Streaming detokenizer: complete UTF-8 only, whatever the cut.
#include <gtest/gtest.h>

#include "glmv/inference/tokenizer.h"

using namespace glmv;

TEST(Utf8Stream, EveryCutOfMultibyteTextYieldsTheSameCompleteCharacters) {
    const std::string text = "a你好😀é\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x92\xBB z";
    for (size_t cut1 = 0; cut1 <= text.size(); ++cut1)
        for (size_t cut2 = cut1; cut2 <= text.size(); ++cut2) {
            std::string pending, out, piece;
            for (auto [b, e] : {std::pair{size_t(0), cut1}, std::pair{cut1, cut2}, std::pair{cut2, text.size()}}) {
                pending += text.substr(b, e - b);
                piece.clear();
                utf8_take_complete(pending, &piece, false);
                // Every emitted piece is itself valid, complete UTF-8 (never half a character).
                std::string check = piece, tmp;
                utf8_take_complete(check, &tmp, false);
                EXPECT_TRUE(check.empty());
                EXPECT_EQ(tmp, piece);
                out += piece;
            }
            utf8_take_complete(pending, &out, true);
            EXPECT_EQ(out, text) << cut1 << " " << cut2;
        }
}

TEST(Utf8Stream, InvalidBytesBecomeReplacementCharacters) {
    std::string pending = "a\xFF" "b\xE4\xBD", out;
    utf8_take_complete(pending, &out, false);
    EXPECT_EQ(out, "a\xEF\xBF\xBD" "b");
    EXPECT_EQ(pending, "\xE4\xBD");
    utf8_take_complete(pending, &out, true);
    EXPECT_EQ(out, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
}
