#include "glmv/pipeline/chat_engine.h"

#include <algorithm>
#include <filesystem>
#include <list>
#include <map>
#include <mutex>

#include "documents.h"
#include "glmv/inference/preprocess.h"
#include "glmv/media/image.h"
#include "glmv/media/office.h"
#include "glmv/media/pdf.h"
#include "glmv/media/video.h"

namespace glmv::pipeline {

namespace fs = std::filesystem;

namespace {

// Decoded + preprocessed media of one attachment: one or more images, or one video.
struct PreparedMedia {
    std::vector<PixelValues> images;
    PixelValues              video;
    bool                     is_video = false;
    std::vector<int64_t>     video_indices;
    std::vector<double>      video_timestamps;
    uint64_t                 bytes() const {
        uint64_t b = video.values.size() * 4;
        for (const auto& p : images) b += p.values.size() * 4;
        return b;
    }
};

uint64_t hash_bytes(const std::vector<uint8_t>& v) {
    uint64_t h = 1469598103934665603ull;
    for (uint8_t b : v) h = (h ^ b) * 1099511628211ull;
    return h;
}

std::string cache_key(const Attachment& a, const ChatSettings& s) {
    std::string key = std::to_string(int(a.kind)) + "|" + std::to_string(a.first_page) + "-" + std::to_string(a.last_page) +
                      "|" + std::to_string(s.pdf_dpi) + "|" + std::to_string(s.max_pdf_pages) + "|" +
                      std::to_string(s.max_image_pixels) + "|";
    if (!a.bytes.empty()) return key + "mem:" + std::to_string(hash_bytes(a.bytes)) + ":" + std::to_string(a.bytes.size());
    std::error_code ec;
    auto            size  = fs::file_size(a.path, ec);
    auto            mtime = fs::last_write_time(a.path, ec).time_since_epoch().count();
    return key + a.path + ":" + std::to_string(size) + ":" + std::to_string(mtime);
}

} // namespace

// Everything needed to turn a conversation into model inputs (no weights).
struct Preparer {
    std::string                      dir;
    ModelConfig                      cfg;
    std::shared_ptr<const Tokenizer> tok;
    ImageProcessorConfig             image_cfg, video_cfg;
    std::mutex                       cache_mutex;
    std::list<std::pair<std::string, std::shared_ptr<const PreparedMedia>>> lru;
    uint64_t                         cache_bytes = 0;
    static constexpr uint64_t        cache_cap   = 256ull << 20;

    static Result<std::unique_ptr<Preparer>> open(const std::string& dir) {
        auto p = std::make_unique<Preparer>();
        p->dir = dir;
        auto c = load_model_config((fs::path(dir) / "config.json").string());
        if (!c) return c.status();
        p->cfg = *c;
        auto t = Tokenizer::load(dir);
        if (!t) return t.status();
        p->tok = t.value();
        auto ic = load_image_processor_config((fs::path(dir) / "preprocessor_config.json").string());
        if (!ic) return ic.status();
        p->image_cfg = *ic;
        const fs::path vpath = fs::path(dir) / "video_preprocessor_config.json";
        std::error_code ec;
        if (fs::exists(vpath, ec)) {
            auto vc = load_video_processor_config(vpath.string());
            if (!vc) return vc.status();
            p->video_cfg = *vc;
        } else {
            p->video_cfg = p->image_cfg;
        }
        return p;
    }

    Result<std::shared_ptr<const PreparedMedia>> media(const Attachment& a, const ChatSettings& s) {
        const std::string key = cache_key(a, s);
        {
            std::lock_guard<std::mutex> lock(cache_mutex);
            for (auto it = lru.begin(); it != lru.end(); ++it)
                if (it->first == key) {
                    lru.splice(lru.end(), lru, it);
                    return lru.back().second;
                }
        }
        auto m = decode(a, s);
        if (!m) return m.status();
        auto shared = std::make_shared<const PreparedMedia>(std::move(m.value()));
        std::lock_guard<std::mutex> lock(cache_mutex);
        lru.emplace_back(key, shared);
        cache_bytes += shared->bytes();
        while (cache_bytes > cache_cap && lru.size() > 1) {
            cache_bytes -= lru.front().second->bytes();
            lru.pop_front();
        }
        return shared;
    }

    Result<PreparedMedia> decode(const Attachment& a, const ChatSettings& s) {
        PreparedMedia        out;
        // The user's pixel cap (Settings) can only lower the model's own budget.
        ImageProcessorConfig image_cfg = this->image_cfg;
        if (s.max_image_pixels > 0) image_cfg.max_pixels = std::max<int64_t>(image_cfg.min_pixels, std::min(image_cfg.max_pixels, s.max_image_pixels));
        const std::string label = a.path.empty() ? std::string("attached image") : a.path;
        switch (a.kind) {
        case Attachment::Kind::image: {
            auto img = a.bytes.empty() ? media::load_image(a.path) : media::decode_image(a.bytes);
            if (!img) return img.status();
            auto pv = preprocess_image({img->rgb.data(), img->width, img->height}, image_cfg);
            if (!pv) return pv.status().with_context(label);
            out.images.push_back(std::move(*pv));
            return out;
        }
        case Attachment::Kind::pdf: {
            auto doc = render_document(a, s, image_cfg.max_pixels);
            if (!doc) return doc.status();
            for (const media::PdfPage& page : doc->pages) {
                auto pv = preprocess_image({page.image.rgb.data(), page.image.width, page.image.height}, image_cfg);
                if (!pv) return pv.status().with_context(label + " page " + std::to_string(page.number));
                out.images.push_back(std::move(*pv));
            }
            return out;
        }
        case Attachment::Kind::video: {
            media::VideoSource        src(a.path);
            media::VideoSamplingParams sp;
            sp.fps            = video_cfg.fps;
            sp.max_duration_s = video_cfg.max_duration_s;
            auto v            = media::load_video(src, sp);
            if (!v) return v.status();
            std::vector<RgbView> views;
            for (const media::VideoFrame& f : v->frames) views.push_back({f.image.rgb.data(), f.image.width, f.image.height});
            auto pv = preprocess_video(views, video_cfg);
            if (!pv) return pv.status().with_context(label);
            out.is_video         = true;
            out.video            = std::move(*pv);
            out.video_indices    = v->indices;
            out.video_timestamps = v->timestamps;
            return out;
        }
        }
        return Status(ErrorCode::internal, "unknown attachment kind");
    }

    Result<PreparedPrompt> prepare(const std::vector<Turn>& turns, const ChatSettings& s) {
        PreparedPrompt           out;
        std::vector<ChatMessage> messages;
        for (const Turn& t : turns) {
            ChatMessage m;
            m.role = t.role;
            if (t.role == "user") {
                for (const Attachment& a : t.attachments) {
                    auto pm = media(a, s);
                    if (!pm) return pm.status();
                    const PreparedMedia& md = **pm;
                    if (md.is_video) {
                        const auto& g = md.video.grid_thw;
                        m.parts.push_back(ChatPart::video({g[0], g[1], g[2]}, md.video_timestamps));
                        out.inputs.pixel_values_videos.insert(out.inputs.pixel_values_videos.end(), md.video.values.begin(),
                                                              md.video.values.end());
                        out.inputs.video_grid_thw.push_back({g[0], g[1], g[2]});
                        out.video_indices.push_back(md.video_indices);
                        out.video_timestamps.push_back(md.video_timestamps);
                    } else {
                        for (const PixelValues& pv : md.images) {
                            const auto& g = pv.grid_thw;
                            m.parts.push_back(ChatPart::image({g[0], g[1], g[2]}));
                            out.inputs.pixel_values.insert(out.inputs.pixel_values.end(), pv.values.begin(), pv.values.end());
                            out.inputs.image_grid_thw.push_back({g[0], g[1], g[2]});
                        }
                    }
                }
            } else if (!t.attachments.empty()) {
                return Status(ErrorCode::invalid_argument, "only user turns can carry attachments");
            }
            if (!t.text.empty() || t.role != "user") m.parts.push_back(ChatPart::text_part(t.text));
            messages.push_back(std::move(m));
        }
        ChatPromptOptions opt;
        opt.disable_thinking         = !s.enable_thinking;
        opt.strip_assistant_thinking = s.strip_history_thinking;
        auto p               = build_chat_prompt(*tok, cfg, messages, opt);
        if (!p) return p.status();
        out.prompt                   = std::move(*p);
        out.inputs.input_ids         = out.prompt.input_ids;
        out.inputs.mm_token_type_ids = out.prompt.mm_token_type_ids;
        return out;
    }
};

struct ChatEngine::Impl {
    std::unique_ptr<Preparer>    prep;
    std::shared_ptr<const Model> model;
    std::unique_ptr<Session>     session;
};

ChatEngine::ChatEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatEngine::~ChatEngine() = default;

Result<std::unique_ptr<ChatEngine>> ChatEngine::open(const std::string& model_dir, const LoadParams& params) {
    auto impl = std::make_unique<Impl>();
    auto prep = Preparer::open(model_dir);
    if (!prep) return prep.status();
    impl->prep = std::move(prep.value());
    auto model = Model::load(model_dir, params);
    if (!model) return model.status();
    impl->model   = model.value();
    impl->session = std::make_unique<Session>(impl->model);
    return std::unique_ptr<ChatEngine>(new ChatEngine(std::move(impl)));
}

Result<PreparedPrompt> ChatEngine::prepare(const std::vector<Turn>& conversation, const ChatSettings& settings) {
    return impl_->prep->prepare(conversation, settings);
}

void               ChatEngine::cancel() { impl_->session->request_cancel(); }
const ModelConfig& ChatEngine::config() const { return impl_->model->config(); }
const Tokenizer&   ChatEngine::tokenizer() const { return *impl_->prep->tok; }
const std::string& ChatEngine::model_dir() const { return impl_->prep->dir; }
WeightFormat       ChatEngine::weight_format() const {
          return impl_->model->weight_format();
}

Result<TurnResult> ChatEngine::run(const std::vector<Turn>& conversation, const ChatSettings& s,
                                   const std::function<void(const StreamSegment&)>& on_segment) {
    if (conversation.empty() || conversation.back().role != "user")
        return Status(ErrorCode::invalid_argument, "the conversation must end with a user message");
    auto prepared = prepare(conversation, s);
    if (!prepared) return prepared.status();
    const Tokenizer& tok = *impl_->prep->tok;

    GenerationParams gp;
    gp.sampling       = s.sampling;
    gp.max_new_tokens = s.max_new_tokens;
    if (s.enable_thinking && s.thinking_budget >= 0) {
        gp.thinking_budget    = s.thinking_budget;
        gp.think_start_id     = tok.token_id("<think>");
        gp.think_end_id       = tok.token_id("</think>");
        for (int32_t id : tok.encode("</think><answer>")) gp.force_after_budget.push_back(id);
    }
    TurnResult        out;
    StreamingDecoder  decoder(tok);
    ThinkAnswerParser parser;
    bool              stopped_by_string = false;
    auto deliver = [&](const std::vector<StreamSegment>& segs) {
        for (const StreamSegment& seg : segs) {
            (seg.channel == StreamChannel::thinking ? out.thinking : out.answer) += seg.text;
            if (on_segment) on_segment(seg);
        }
    };
    auto r = impl_->session->generate(prepared->inputs, gp, [&](int64_t id) {
        // Special tokens (role markers, end of text) end the turn and are never shown; the answer/think/box tags are
        // ordinary added tokens and go through the parser.
        if (tok.is_special(int32_t(id))) return true;
        std::string piece = decoder.push(int32_t(id));
        if (piece.empty()) return true;
        out.text += piece;
        for (const std::string& stop : s.stop_strings) {
            if (stop.empty()) continue;
            size_t at = out.text.find(stop);
            if (at != std::string::npos) {
                // Deliver only what precedes the stop string.
                const size_t before = out.text.size() - piece.size();
                if (at > before) deliver(parser.push(piece.substr(0, at - before)));
                out.text.erase(at);
                stopped_by_string = true;
                return false;
            }
        }
        deliver(parser.push(piece));
        return true;
    });
    if (!r) return r.status();
    if (!stopped_by_string) {
        std::string rest = decoder.flush();
        out.text += rest;
        deliver(parser.push(rest));
    }
    deliver(parser.finish());
    out.gen               = std::move(r.value());
    out.completion_tokens = int64_t(out.gen.tokens.size());
    return out;
}

Result<PreparedPrompt> prepare_prompt(const std::string& model_dir, const std::vector<Turn>& conversation,
                                      const ChatSettings& settings) {
    auto prep = Preparer::open(model_dir);
    if (!prep) return prep.status();
    return prep.value()->prepare(conversation, settings);
}

} // namespace glmv::pipeline
