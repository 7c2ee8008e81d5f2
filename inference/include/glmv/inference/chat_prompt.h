// GLM-4.1V chat prompt: what chat_template.jinja renders, tokenised, with image/video placeholders expanded the
// way Glm4vProcessor expands them — in C++, no Jinja.
//
//   glmv::ChatMessage user{"user", {glmv::ChatPart::image({1, 6, 10}), glmv::ChatPart::text_part("Describe it.")}};
//   auto prompt = glmv::build_chat_prompt(*tokenizer, model_config, {user}, {});
//   // prompt->input_ids, prompt->mm_token_type_ids (0 text, 1 image, 2 video frame), prompt->text (rendered)
//
// Rendering (spec §8): "[gMASK]<sop>", then per message: system → "<|system|>\n" + text; user → "<|user|>\n" + parts
// (image → <|begin_of_image|><|image|><|end_of_image|>, video → <|begin_of_video|><|video|><|end_of_video|>, text →
// text, no separators); assistant → "<|assistant|>\n" + text (or "<|assistant|>" + metadata + "\n" + text); then
// "<|assistant|>\n" when a generation prompt is wanted. Expansion: an image with grid (t, h, w) becomes t·h·w/4
// <|image|> tokens; a video with grid (T, h, w) becomes, per frame pair k, <|begin_of_image|> + h·w/4 <|image|> +
// <|end_of_image|> + the integer second of the pair's first frame.
#pragma once

#include <string>
#include <vector>

#include "glmv/inference/engine.h"
#include "glmv/inference/tokenizer.h"

namespace glmv {

struct ChatPart {
    enum class Kind { text, image, video } kind = Kind::text;
    std::string         text;          // Kind::text
    GridTHW             grid;          // image / video: the vision grid from preprocessing
    std::vector<double> timestamps_s;  // video: one per sampled frame (2 per frame pair)

    static ChatPart text_part(std::string s) { return {Kind::text, std::move(s), {}, {}}; }
    static ChatPart image(GridTHW g) { return {Kind::image, {}, g, {}}; }
    static ChatPart video(GridTHW g, std::vector<double> ts) { return {Kind::video, {}, g, std::move(ts)}; }
};

struct ChatMessage {
    std::string           role; // "system", "user", "assistant"
    std::vector<ChatPart> parts;
    std::string           metadata; // assistant only, rarely used
};

struct ChatPromptOptions {
    bool add_generation_prompt = true;
    // Keep only the plain answer of earlier assistant turns: drop <think>…</think> and strip the answer/box tags,
    // as the official demo does before sending history back.
    bool strip_assistant_thinking = true;
    // Append "<think></think>\n" after the generation prompt so the model answers without reasoning
    // (chat_template_kwargs.enable_thinking = false in vLLM terms).
    bool disable_thinking = false;
};

struct ChatPrompt {
    std::string          text; // rendered, placeholders not expanded (what the template renders)
    std::vector<int64_t> input_ids;
    std::vector<int64_t> mm_token_type_ids;
};

Result<ChatPrompt> build_chat_prompt(const Tokenizer& tok, const ModelConfig& cfg, const std::vector<ChatMessage>& messages,
                                     const ChatPromptOptions& options);

// "<think>x</think><answer>y</answer>" → "y" (tags removed, thinking dropped).
std::string strip_thinking(const std::string& assistant_text);

} // namespace glmv
