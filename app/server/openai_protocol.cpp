#include "openai_protocol.h"

#include <cmath>
#include <filesystem>

namespace glmv::server {

using json   = nlohmann::json;
namespace fs = std::filesystem;

json ApiError::body() const {
    return {{"error", {{"message", message}, {"type", type}, {"param", param.empty() ? json(nullptr) : json(param)},
                       {"code", nullptr}}}};
}

bool decode_base64(const std::string& in, std::vector<uint8_t>* out) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+' || c == '-') return 62;
        if (c == '/' || c == '_') return 63;
        return -1;
    };
    out->clear();
    out->reserve(in.size() * 3 / 4);
    uint32_t acc = 0;
    int      bits = 0;
    size_t   pads = 0;
    for (char c : in) {
        if (c == '=') {
            ++pads;
            continue;
        }
        if (c == '\n' || c == '\r' || c == ' ') continue;
        if (pads) return false; // data after padding
        int v = val(c);
        if (v < 0) return false;
        acc = acc << 6 | uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->push_back(uint8_t(acc >> bits));
        }
    }
    return pads <= 2;
}

namespace {

bool fail(ApiError* e, const std::string& msg, const std::string& param = {}, int status = 400) {
    e->http_status = status;
    e->message     = msg;
    e->param       = param;
    return false;
}

// Resolves a file:// URL to a path inside the allowed folder.
bool local_path(const std::string& url, const ServerLimits& lim, std::string* path, ApiError* err) {
    if (lim.allowed_local_media_path.empty())
        return fail(err, "file:// URLs are disabled; start glmv-server with --allowed-local-media-path DIR", "messages");
    std::string p = url.substr(7);
    std::error_code ec;
    fs::path        real  = fs::weakly_canonical(fs::path(p), ec);
    fs::path        root  = fs::weakly_canonical(fs::path(lim.allowed_local_media_path), ec);
    auto            rel   = real.lexically_relative(root);
    if (ec || rel.empty() || rel.native().rfind("..", 0) == 0 || real.is_relative())
        return fail(err, "file '" + p + "' is outside the allowed media folder", "messages", 403);
    *path = real.string();
    return true;
}

bool media_part(const json& part, const char* key, pipeline::Attachment::Kind kind, const ServerLimits& lim,
                pipeline::Attachment* out, ApiError* err) {
    const json* v = part.contains(key) ? &part[key] : nullptr;
    std::string url;
    if (v && v->is_object() && v->contains("url") && (*v)["url"].is_string()) url = (*v)["url"];
    else if (v && v->is_string()) url = *v;
    else return fail(err, std::string("a '") + key + "' part needs {\"url\": …}", "messages");
    out->kind = kind;
    if (url.rfind("data:", 0) == 0) {
        auto comma = url.find(',');
        if (comma == std::string::npos || url.substr(0, comma).find(";base64") == std::string::npos)
            return fail(err, "data URLs must be base64 encoded", "messages");
        if (kind != pipeline::Attachment::Kind::image)
            return fail(err, "videos must be given as file:// URLs under the allowed media folder", "messages");
        if (!decode_base64(url.substr(comma + 1), &out->bytes)) return fail(err, "invalid base64 in a data URL", "messages");
        if (out->bytes.empty()) return fail(err, "empty image in a data URL", "messages");
        return true;
    }
    if (url.rfind("file://", 0) == 0) return local_path(url, lim, &out->path, err);
    if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0)
        return fail(err, "remote URLs are not fetched (this server works offline); send the image as a data: URL",
                     "messages");
    return fail(err, "unsupported URL scheme in '" + url.substr(0, 32) + "'", "messages");
}

} // namespace

bool parse_chat_request(const std::string& body, const ServerLimits& lim, ChatRequest* out, ApiError* err) {
    json j;
    try {
        j = json::parse(body);
    } catch (const std::exception& e) {
        return fail(err, std::string("the request body is not valid JSON: ") + e.what());
    }
    if (!j.is_object()) return fail(err, "the request body must be a JSON object");
    if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty())
        return fail(err, "'messages' must be a non-empty list", "messages");
    out->model    = j.value("model", std::string());
    out->settings = pipeline::ChatSettings{};
    out->settings.sampling.temperature = 1.0f;
    try {
        if (j.contains("stream") && !j["stream"].is_null()) out->stream = j["stream"].get<bool>();
        auto num = [&](const char* key, double lo, double hi, double* v) -> bool {
            if (!j.contains(key) || j[key].is_null()) return true;
            if (!j[key].is_number()) return fail(err, std::string("'") + key + "' must be a number", key);
            *v = j[key].get<double>();
            if (!(*v >= lo && *v <= hi) || std::isnan(*v))
                return fail(err, std::string("'") + key + "' must be between " + std::to_string(lo) + " and " +
                                     std::to_string(hi), key);
            return true;
        };
        double temperature = 1.0, top_p = 1.0, max_tokens = 4096, seed = 0, top_k = 0, rep = 1.0;
        if (!num("temperature", 0, 2, &temperature) || !num("top_p", 0, 1, &top_p) ||
            !num("max_tokens", 1, lim.max_tokens_cap, &max_tokens) ||
            !num("max_completion_tokens", 1, lim.max_tokens_cap, &max_tokens) || !num("seed", -9.2e18, 9.2e18, &seed) ||
            !num("top_k", -1, 100000, &top_k) || !num("repetition_penalty", 0.01, 10, &rep))
            return false;
        auto& s                       = out->settings;
        s.sampling.temperature        = float(temperature);
        s.sampling.greedy             = temperature == 0;
        s.sampling.top_p              = float(top_p);
        s.sampling.top_k              = int(top_k < 0 ? 0 : top_k);
        s.sampling.repetition_penalty = float(rep);
        s.sampling.seed               = uint64_t(int64_t(seed));
        s.max_new_tokens              = int(max_tokens);
        if (j.contains("stop") && !j["stop"].is_null()) {
            if (j["stop"].is_string()) s.stop_strings.push_back(j["stop"]);
            else if (j["stop"].is_array() && j["stop"].size() <= 4) {
                for (const json& x : j["stop"]) {
                    if (!x.is_string()) return fail(err, "'stop' must be a string or a list of up to 4 strings", "stop");
                    s.stop_strings.push_back(x);
                }
            } else return fail(err, "'stop' must be a string or a list of up to 4 strings", "stop");
        }
        if (j.contains("chat_template_kwargs") && j["chat_template_kwargs"].is_object())
            s.enable_thinking = j["chat_template_kwargs"].value("enable_thinking", true);
    } catch (const std::exception& e) {
        return fail(err, std::string("invalid field type: ") + e.what());
    }
    int images = 0, videos = 0;
    for (const json& m : j["messages"]) {
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
            return fail(err, "each message needs a string 'role'", "messages");
        pipeline::Turn t;
        t.role = m["role"];
        if (t.role == "developer") t.role = "system";
        if (t.role != "system" && t.role != "user" && t.role != "assistant")
            return fail(err, "unsupported role '" + t.role + "'", "messages");
        const json& c = m.contains("content") ? m["content"] : json();
        if (c.is_string()) t.text = c;
        else if (c.is_array()) {
            for (const json& part : c) {
                if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
                    return fail(err, "each content part needs a 'type'", "messages");
                const std::string type = part["type"];
                if (type == "text") {
                    if (!part.contains("text") || !part["text"].is_string()) return fail(err, "text part without text", "messages");
                    t.text += part["text"].get<std::string>();
                } else if (type == "image_url" || type == "video_url") {
                    if (t.role != "user") return fail(err, "only user messages can carry images or videos", "messages");
                    pipeline::Attachment a;
                    const bool           video = type == "video_url";
                    if (!media_part(part, type.c_str(), video ? pipeline::Attachment::Kind::video : pipeline::Attachment::Kind::image,
                                    lim, &a, err))
                        return false;
                    (video ? videos : images)++;
                    t.attachments.push_back(std::move(a));
                } else {
                    return fail(err, "unsupported content part type '" + type + "'", "messages");
                }
            }
        } else if (!c.is_null()) {
            return fail(err, "'content' must be a string or a list of parts", "messages");
        }
        if (t.role == "assistant" && m.contains("reasoning_content")) { /* history keeps only the answer */ }
        out->turns.push_back(std::move(t));
    }
    if (images > lim.max_images_per_request)
        return fail(err, "too many images: " + std::to_string(images) + " (limit " + std::to_string(lim.max_images_per_request) + ")", "messages");
    if (videos > lim.max_videos_per_request) return fail(err, "at most one video per request", "messages");
    if (out->turns.back().role != "user") return fail(err, "the last message must come from the user", "messages");
    return true;
}

json completion_json(const std::string& id, const std::string& model, int64_t created, const pipeline::TurnResult& r) {
    const bool length = r.gen.stop == GenerationResult::Stop::max_tokens;
    json       msg    = {{"role", "assistant"}, {"content", r.answer}};
    if (!r.thinking.empty()) msg["reasoning_content"] = r.thinking;
    return {{"id", id},
            {"object", "chat.completion"},
            {"created", created},
            {"model", model},
            {"choices", {{{"index", 0}, {"message", msg}, {"finish_reason", length ? "length" : "stop"}}}},
            {"usage",
             {{"prompt_tokens", r.gen.prompt_tokens},
              {"completion_tokens", r.completion_tokens},
              {"total_tokens", r.gen.prompt_tokens + r.completion_tokens}}}};
}

json chunk_json(const std::string& id, const std::string& model, int64_t created, const json& delta,
                const char* finish_reason) {
    return {{"id", id},
            {"object", "chat.completion.chunk"},
            {"created", created},
            {"model", model},
            {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason ? json(finish_reason) : json(nullptr)}}}}};
}

} // namespace glmv::server
