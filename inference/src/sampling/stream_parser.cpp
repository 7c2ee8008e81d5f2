#include "glmv/inference/stream_parser.h"

#include <array>
#include <string_view>

namespace glmv {

namespace {

enum class Tag { think_open, think_close, answer_open, answer_close, box_open, box_close };
constexpr std::array<std::pair<std::string_view, Tag>, 6> kTags = {{
    {"<think>", Tag::think_open},
    {"</think>", Tag::think_close},
    {"<answer>", Tag::answer_open},
    {"</answer>", Tag::answer_close},
    {"<|begin_of_box|>", Tag::box_open},
    {"<|end_of_box|>", Tag::box_close},
}};

// True if `s` (a suffix of the buffer starting with '<') could still grow into a tag.
bool could_be_tag_prefix(std::string_view s) {
    for (auto& [t, k] : kTags)
        if (t.size() > s.size() && t.substr(0, s.size()) == s) return true;
    return false;
}

} // namespace

void ThinkAnswerParser::append(std::vector<StreamSegment>& out, const std::string& text) {
    if (text.empty()) return;
    StreamChannel ch;
    switch (state_) {
    case State::thinking: ch = StreamChannel::thinking; break;
    case State::between:
        if (text.find_first_not_of(" \n\r\t") == std::string::npos) return; // whitespace between the blocks
        state_ = State::answer;
        saw_answer_ = true;
        ch     = StreamChannel::answer;
        break;
    case State::start:
        if (text.find_first_not_of(" \n\r\t") == std::string::npos) return; // whitespace before the first tag
        state_      = State::answer;
        saw_answer_ = true;
        ch          = StreamChannel::answer;
        break;
    default: ch = StreamChannel::answer; saw_answer_ = true;
    }
    const bool boxed = boxed_ && ch == StreamChannel::answer;
    if (!out.empty() && out.back().channel == ch && out.back().boxed == boxed) out.back().text += text;
    else out.push_back({ch, text, boxed});
}

void ThinkAnswerParser::process(std::vector<StreamSegment>& out, bool final) {
    size_t i = 0;
    std::string plain;
    auto flush_plain = [&] {
        append(out, plain);
        plain.clear();
    };
    while (i < buf_.size()) {
        if (buf_[i] != '<') {
            // Leading whitespace before the first tag is held: the output usually starts with "<think>".
            plain += buf_[i++];
            continue;
        }
        std::string_view rest(buf_.data() + i, buf_.size() - i);
        bool             matched = false;
        for (auto& [t, k] : kTags) {
            if (rest.substr(0, t.size()) != t) continue;
            flush_plain();
            switch (k) {
            case Tag::think_open:
                if (state_ == State::start || state_ == State::between) state_ = State::thinking;
                break;
            case Tag::think_close:
                if (state_ == State::thinking || state_ == State::start) state_ = State::between;
                break;
            case Tag::answer_open:
                state_ = State::answer;
                saw_answer_ = true;
                break;
            case Tag::answer_close: boxed_ = false; break;
            case Tag::box_open:
                if (state_ != State::thinking) {
                    if (state_ != State::answer) state_ = State::answer, saw_answer_ = true;
                    boxed_ = true;
                }
                break;
            case Tag::box_close: boxed_ = false; break;
            }
            i += t.size();
            matched = true;
            break;
        }
        if (matched) continue;
        if (!final && could_be_tag_prefix(rest)) break; // wait for more text
        plain += buf_[i++];
    }
    // Before the first tag, and between </think> and <answer>, whitespace-only text is held back until we know
    // whether a tag (which drops it) or real text (which keeps it) follows, so chunking never changes the result.
    if ((state_ == State::start || state_ == State::between) && !final &&
        plain.find_first_not_of(" \n\r\t") == std::string::npos) {
        buf_ = plain + buf_.substr(i);
        return;
    }
    flush_plain();
    buf_.erase(0, i);
}

std::vector<StreamSegment> ThinkAnswerParser::push(const std::string& chunk) {
    std::vector<StreamSegment> out;
    buf_ += chunk;
    process(out, false);
    return out;
}

std::vector<StreamSegment> ThinkAnswerParser::finish() {
    std::vector<StreamSegment> out;
    process(out, true);
    buf_.clear();
    return out;
}

} // namespace glmv
