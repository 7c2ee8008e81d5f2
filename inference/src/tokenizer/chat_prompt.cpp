#include "glmv/inference/chat_prompt.h"

#include <cmath>

namespace glmv {

std::string strip_thinking(const std::string& s) {
    std::string out = s;
    for (size_t b; (b = out.find("<think>")) != std::string::npos;) {
        size_t e = out.find("</think>", b);
        out.erase(b, e == std::string::npos ? std::string::npos : e + 8 - b);
    }
    // An answer whose <think> was cut off still has its closing tag: drop everything before it.
    if (size_t e = out.find("</think>"); e != std::string::npos) out.erase(0, e + 8);
    for (const char* tag : {"<answer>", "</answer>", "<|begin_of_box|>", "<|end_of_box|>"})
        for (size_t p; (p = out.find(tag)) != std::string::npos;) out.erase(p, std::string(tag).size());
    size_t a = out.find_first_not_of(" \n\r\t"), z = out.find_last_not_of(" \n\r\t");
    return a == std::string::npos ? std::string() : out.substr(a, z - a + 1);
}

namespace {

struct Builder {
    const Tokenizer&   tok;
    const ModelConfig& cfg;
    ChatPrompt         out;
    std::string        pending; // text not yet tokenised: encoded as one string, exactly as the reference does

    void text(const std::string& s) {
        out.text += s;
        pending += s;
    }
    void flush() {
        for (int32_t id : tok.encode(pending)) {
            out.input_ids.push_back(id);
            out.mm_token_type_ids.push_back(0);
        }
        pending.clear();
    }
    void token(int64_t id, int64_t type, const char* rendered) {
        flush();
        if (rendered) out.text += rendered;
        out.input_ids.push_back(id);
        out.mm_token_type_ids.push_back(type);
    }
};

} // namespace

Result<ChatPrompt> build_chat_prompt(const Tokenizer& tok, const ModelConfig& cfg, const std::vector<ChatMessage>& messages,
                                     const ChatPromptOptions& opt) {
    Builder       b{tok, cfg, {}, {}};
    const int64_t merge = cfg.vision.spatial_merge_size * cfg.vision.spatial_merge_size;
    // Text segments go through the tokenizer (which splits special tokens out, as the reference does); media
    // placeholders are appended as ids directly so that their counts never depend on tokenisation.
    b.text("[gMASK]<sop>");
    for (const ChatMessage& m : messages) {
        if (m.role == "system") {
            std::string s;
            for (const ChatPart& p : m.parts)
                if (p.kind == ChatPart::Kind::text) s += p.text;
            b.text("<|system|>\n" + s);
        } else if (m.role == "user") {
            b.text("<|user|>\n");
            for (const ChatPart& p : m.parts) {
                if (p.kind == ChatPart::Kind::text) {
                    b.text(p.text);
                } else if (p.kind == ChatPart::Kind::image) {
                    if (p.grid.h % 2 || p.grid.w % 2 || p.grid.t < 1)
                        return Status(ErrorCode::invalid_argument, "image grid must have even h and w");
                    b.token(cfg.image_start_token_id, 0, "<|begin_of_image|>");
                    b.out.text += "<|image|>";
                    for (int64_t k = 0; k < p.grid.patches() / merge; ++k) b.token(cfg.image_token_id, 1, nullptr);
                    b.token(cfg.image_end_token_id, 0, "<|end_of_image|>");
                } else {
                    if (p.grid.h % 2 || p.grid.w % 2 || p.grid.t < 1)
                        return Status(ErrorCode::invalid_argument, "video grid must have even h and w");
                    if (int64_t(p.timestamps_s.size()) < 2 * p.grid.t - 1)
                        return Status(ErrorCode::invalid_argument, "a video needs one timestamp per sampled frame");
                    b.token(cfg.video_start_token_id, 0, "<|begin_of_video|>");
                    b.out.text += "<|video|>";
                    for (int64_t f = 0; f < p.grid.t; ++f) {
                        b.token(cfg.image_start_token_id, 0, nullptr);
                        for (int64_t k = 0; k < p.grid.h * p.grid.w / merge; ++k) b.token(cfg.image_token_id, 2, nullptr);
                        b.token(cfg.image_end_token_id, 0, nullptr);
                        const std::string stamp = std::to_string(int64_t(std::floor(p.timestamps_s[size_t(2 * f)])));
                        for (int32_t id : tok.encode(stamp)) b.token(id, 0, nullptr);
                    }
                    b.token(cfg.video_end_token_id, 0, "<|end_of_video|>");
                }
            }
        } else if (m.role == "assistant") {
            std::string s;
            for (const ChatPart& p : m.parts)
                if (p.kind == ChatPart::Kind::text) s += p.text;
            if (opt.strip_assistant_thinking) s = strip_thinking(s);
            b.text(m.metadata.empty() ? "<|assistant|>\n" + s : "<|assistant|>" + m.metadata + "\n" + s);
        } else {
            return Status(ErrorCode::invalid_argument, "unknown role '" + m.role + "' (expected system, user or assistant)");
        }
    }
    if (opt.add_generation_prompt) {
        b.text("<|assistant|>\n");
        if (opt.disable_thinking) b.text("<think></think>\n");
    }
    b.flush();
    return std::move(b.out);
}

} // namespace glmv
