// Splits the model's streamed output into thinking and answer text as it arrives.
//
//   glmv::ThinkAnswerParser p;
//   for (const std::string& chunk : decoded_chunks)
//       for (const glmv::StreamSegment& s : p.push(chunk)) render(s.channel, s.text, s.boxed);
//   for (const glmv::StreamSegment& s : p.finish()) render(...);
//
// Tags: <think> … </think> is thinking; <answer> … </answer> is the answer; <|begin_of_box|> … <|end_of_box|> marks a
// boxed span inside the answer. Tolerant: text before any tag is treated as answer unless <think> follows at once;
// a missing </think> before <answer> ends thinking; text after </think> without <answer> is answer; unbalanced
// closing tags are dropped. Tags split across chunks are held back until they can be decided, so the result never
// depends on how the text was chunked. Whitespace between </think> and <answer> is dropped.
#pragma once

#include <string>
#include <vector>

namespace glmv {

enum class StreamChannel { thinking, answer };

struct StreamSegment {
    StreamChannel channel = StreamChannel::answer;
    std::string   text;
    bool          boxed = false;
};

class ThinkAnswerParser {
  public:
    std::vector<StreamSegment> push(const std::string& chunk);
    std::vector<StreamSegment> finish();

    bool thinking_open() const { return state_ == State::thinking; }
    bool saw_answer() const { return saw_answer_; }

  private:
    enum class State { start, thinking, between, answer };
    void append(std::vector<StreamSegment>& out, const std::string& text);
    void process(std::vector<StreamSegment>& out, bool final);

    State       state_      = State::start;
    bool        boxed_      = false;
    bool        saw_answer_ = false;
    std::string buf_;
};

} // namespace glmv
