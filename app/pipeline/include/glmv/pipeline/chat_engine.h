// The Qt-free chat pipeline shared by glmv-cli, glmv-server and the desktop app's worker thread: a conversation with
// file attachments → decoded media → pixel values → chat prompt → generation → thinking/answer stream.
//
//   auto engine = glmv::pipeline::ChatEngine::open("/models/GLM-4.1V-9B-Thinking", {});
//   if (!engine) die(engine.status().message());
//   std::vector<glmv::pipeline::Turn> chat = {{"user", "What is in this picture?", {{Attachment::Kind::image, "cat.png"}}}};
//   auto r = (*engine)->run(chat, {}, [](const glmv::StreamSegment& s) { show(s.channel, s.text); });
//   // r->answer, r->thinking, r->gen.time_to_first_token_ms …
//
// Follow-up turns reuse the KV cache of the shared prefix and cached vision embeddings (see engine.h), and decoded
// media are cached by file identity, so turn 2 with the same images starts almost at once.
//
// Threading: run() must not be called from two threads at once; cancel() may be called from any thread and stops
// the running turn within one token.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "glmv/common/status.h"
#include "glmv/inference/chat_prompt.h"
#include "glmv/inference/engine.h"
#include "glmv/inference/stream_parser.h"
#include "glmv/inference/tokenizer.h"
#include "glmv/pipeline/chat_runner.h"

namespace glmv::pipeline {

struct Attachment {
    enum class Kind { image, video, pdf } kind = Kind::image;
    std::string          path;            // a file, or empty when `bytes` is given
    std::vector<uint8_t> bytes;           // in-memory image (e.g. a data: URL)
    int                  first_page = 1;  // PDF page range, 1-based inclusive; last_page 0 = to the end
    int                  last_page  = 0;
};

// One message. For user turns the attachments come before the text (as the official demo sends them).
struct Turn {
    std::string             role; // "system", "user", "assistant"
    std::string             text;
    std::vector<Attachment> attachments;
};

struct ChatSettings {
    SamplingParams sampling;             // defaults below follow the official demo
    int            max_new_tokens  = 8192;
    int            thinking_budget = -1; // tokens; -1 = unlimited
    bool           enable_thinking = true;
    double         pdf_dpi         = 180;
    int64_t        max_image_pixels = 0; // 0 = the model's preprocessor_config; else the smaller of the two
    int            max_pdf_pages   = 300;
    std::vector<std::string> stop_strings; // extra stop sequences (OpenAI `stop`)
    // Earlier assistant turns keep only their plain answer (the official demo's history); false renders them
    // verbatim, as chat_template.jinja does.
    bool strip_history_thinking = true;

    static ChatSettings official_demo() {
        ChatSettings s;
        s.sampling.top_k              = 2;
        s.sampling.top_p              = 1e-5f;
        s.sampling.repetition_penalty = 1.1f;
        s.sampling.temperature        = 1.0f;
        return s;
    }
};

struct TurnResult {
    std::string      text;     // everything generated, tags included (special tokens kept)
    std::string      thinking; // parsed
    std::string      answer;   // parsed (box markers removed)
    GenerationResult gen;
    int64_t          completion_tokens = 0;
};

// Prepared model inputs of a conversation, for glmv-cli prompt and tests.
struct PreparedPrompt {
    ChatPrompt                     prompt;
    ModelInputs                    inputs;
    std::vector<std::vector<int64_t>> video_indices;     // sampled frame numbers per video
    std::vector<std::vector<double>>  video_timestamps;  // seconds per sampled frame
};

class ChatEngine : public ChatRunner {
  public:
    static Result<std::unique_ptr<ChatEngine>> open(const std::string& model_dir, const LoadParams& params = {});
    ~ChatEngine() override;

    // Decodes the conversation's media and builds the model inputs (no generation).
    Result<PreparedPrompt> prepare(const std::vector<Turn>& conversation, const ChatSettings& settings);

    // Generates the assistant's reply to `conversation` (which ends with a user turn). `on_segment` receives
    // thinking/answer text as it is generated (complete UTF-8 only).
    Result<TurnResult> run(const std::vector<Turn>& conversation, const ChatSettings& settings,
                           const std::function<void(const StreamSegment&)>& on_segment) override;

    void        cancel() override;
    std::string description() const override { return model_dir(); }

    const ModelConfig& config() const;
    const Tokenizer&   tokenizer() const;
    const std::string& model_dir() const;
    // What the decoder's matrices are in memory: a folder written by glmv-cli quantize keeps its own format
    // whatever LoadParams::weights asked for.
    WeightFormat weight_format() const;

    struct Impl;

  private:
    explicit ChatEngine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Prepares inputs without a model: needs only the tokenizer, config and processor configs of `model_dir`.
Result<PreparedPrompt> prepare_prompt(const std::string& model_dir, const std::vector<Turn>& conversation,
                                      const ChatSettings& settings);

} // namespace glmv::pipeline
