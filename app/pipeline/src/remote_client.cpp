#include "glmv/pipeline/remote_client.h"

#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "documents.h"
#include "glmv/media/image.h"
#include "glmv/media/office.h"
#include "glmv/media/pdf.h"

namespace glmv::pipeline {

using json   = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string base64(const std::vector<uint8_t>& in) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string        out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        uint32_t v = uint32_t(in[i]) << 16 | uint32_t(in[i + 1]) << 8 | in[i + 2];
        out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
    }
    if (i + 1 == in.size()) {
        uint32_t v = uint32_t(in[i]) << 16;
        out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        uint32_t v = uint32_t(in[i]) << 16 | uint32_t(in[i + 1]) << 8;
        out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
    }
    return out;
}

std::string mime_for(const std::vector<uint8_t>& bytes) {
    switch (media::sniff_image_format(bytes)) {
    case media::ImageFormat::png: return "image/png";
    case media::ImageFormat::jpeg: return "image/jpeg";
    case media::ImageFormat::webp: return "image/webp";
    case media::ImageFormat::gif: return "image/gif";
    case media::ImageFormat::bmp: return "image/bmp";
    case media::ImageFormat::tiff: return "image/tiff";
    default: return "application/octet-stream";
    }
}

json image_part(const std::vector<uint8_t>& bytes) {
    return {{"type", "image_url"}, {"image_url", {{"url", "data:" + mime_for(bytes) + ";base64," + base64(bytes)}}}};
}

Status split_url(const std::string& url, std::string* host, std::string* prefix) {
    auto scheme = url.find("://");
    if (scheme == std::string::npos || (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0))
        return Status(ErrorCode::invalid_argument, "the server URL must start with http:// or https:// (got '" + url + "')");
    auto slash = url.find('/', scheme + 3);
    *host      = slash == std::string::npos ? url : url.substr(0, slash);
    *prefix    = slash == std::string::npos ? "" : url.substr(slash);
    while (!prefix->empty() && prefix->back() == '/') prefix->pop_back();
    return {};
}

httplib::Headers headers_for(const RemoteOptions& o) {
    httplib::Headers h;
    if (!o.api_key.empty()) h.emplace("Authorization", "Bearer " + o.api_key);
    return h;
}

std::string error_text(int status, const std::string& body) {
    try {
        json j = json::parse(body);
        if (j.contains("error") && j["error"].is_object() && j["error"].contains("message"))
            return "server answered " + std::to_string(status) + ": " + j["error"]["message"].get<std::string>();
        if (j.contains("message")) return "server answered " + std::to_string(status) + ": " + j["message"].dump();
    } catch (...) {
    }
    return "server answered HTTP " + std::to_string(status) + (body.empty() ? "" : ": " + body.substr(0, 200));
}

} // namespace

Result<std::unique_ptr<RemoteChatClient>> RemoteChatClient::connect(const RemoteOptions& options) {
    std::unique_ptr<RemoteChatClient> c(new RemoteChatClient(options));
    GLMV_RETURN_IF_ERROR(split_url(options.base_url, &c->host_, &c->path_prefix_));
    httplib::Client cli(c->host_);
    cli.set_connection_timeout(5, 0);
    cli.set_read_timeout(30, 0);
    auto res = cli.Get(c->path_prefix_ + "/models", headers_for(options));
    if (!res)
        return Status(ErrorCode::io_error, "cannot reach " + options.base_url + " (" + httplib::to_string(res.error()) +
                                               "): is the server running?");
    if (res->status != 200) return Status(ErrorCode::io_error, error_text(res->status, res->body));
    try {
        json j = json::parse(res->body);
        if (c->options_.model.empty()) {
            if (!j.contains("data") || !j["data"].is_array() || j["data"].empty())
                return Status(ErrorCode::bad_format, options.base_url + "/models lists no model");
            c->options_.model = j["data"][0]["id"].get<std::string>();
        }
    } catch (const std::exception& e) {
        return Status(ErrorCode::bad_format, options.base_url + "/models did not answer JSON: " + e.what());
    }
    return c;
}

Result<TurnResult> RemoteChatClient::run(const std::vector<Turn>& conversation, const ChatSettings& s,
                                         const std::function<void(const StreamSegment&)>& on_segment) {
    cancelled_ = false;
    const auto t0 = std::chrono::steady_clock::now();
    json       messages = json::array();
    for (const Turn& t : conversation) {
        if (t.role != "user") {
            messages.push_back({{"role", t.role},
                                {"content", t.role == "assistant" && s.strip_history_thinking ? strip_thinking(t.text) : t.text}});
            continue;
        }
        json parts = json::array();
        for (const Attachment& a : t.attachments) {
            if (a.kind == Attachment::Kind::image) {
                std::vector<uint8_t> bytes = a.bytes;
                if (bytes.empty()) {
                    auto r = media::read_file_bytes(a.path, 64ull << 20);
                    if (!r) return r.status();
                    bytes = std::move(*r);
                }
                parts.push_back(image_part(bytes));
            } else if (a.kind == Attachment::Kind::video) {
                parts.push_back({{"type", "video_url"}, {"video_url", {{"url", "file://" + fs::absolute(a.path).string()}}}});
            } else { // a document: pages rendered here, sent as images (as the official demo does)
                auto doc = render_document(a, s, 9633792); // the real model's image pixel budget
                if (!doc) return doc.status();
                for (const media::PdfPage& page : doc->pages) {
                    auto png = media::encode_png(page.image);
                    if (!png) return png.status();
                    parts.push_back(image_part(*png));
                }
            }
        }
        parts.push_back({{"type", "text"}, {"text", t.text}});
        messages.push_back({{"role", "user"}, {"content", parts}});
    }
    json body = {{"model", options_.model},
                 {"messages", messages},
                 {"stream", true},
                 {"stream_options", {{"include_usage", true}}},
                 {"max_tokens", s.max_new_tokens},
                 {"temperature", s.sampling.greedy ? 0.0 : double(s.sampling.temperature)},
                 {"top_p", double(s.sampling.top_p)},
                 {"chat_template_kwargs", {{"enable_thinking", s.enable_thinking}}}};
    if (s.sampling.top_k > 0) body["top_k"] = s.sampling.top_k; // vLLM/SGLang extension
    if (s.sampling.repetition_penalty != 1.0f) body["repetition_penalty"] = s.sampling.repetition_penalty;
    if (s.sampling.seed) body["seed"] = s.sampling.seed;
    if (!s.stop_strings.empty()) body["stop"] = s.stop_strings;

    TurnResult        out;
    ThinkAnswerParser parser;
    std::string       pending, error_body;
    bool              ok_status = true, done = false;
    auto deliver = [&](const std::vector<StreamSegment>& segs) {
        for (const StreamSegment& seg : segs) {
            (seg.channel == StreamChannel::thinking ? out.thinking : out.answer) += seg.text;
            if (on_segment) on_segment(seg);
        }
    };
    auto handle_event = [&](const std::string& data) {
        if (data == "[DONE]") {
            done = true;
            return;
        }
        json j;
        try {
            j = json::parse(data);
        } catch (...) {
            return;
        }
        if (j.contains("error")) {
            error_body = data;
            ok_status  = false;
            return;
        }
        if (j.contains("usage") && j["usage"].is_object()) {
            out.gen.prompt_tokens = j["usage"].value("prompt_tokens", int64_t(0));
            out.completion_tokens = j["usage"].value("completion_tokens", int64_t(0));
        }
        if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return;
        const json& c = j["choices"][0];
        if (c.contains("delta") && c["delta"].is_object()) {
            const json& d = c["delta"];
            const std::string reasoning =
                d.contains("reasoning_content") && d["reasoning_content"].is_string() ? d["reasoning_content"].get<std::string>()
                : d.contains("reasoning") && d["reasoning"].is_string()                ? d["reasoning"].get<std::string>()
                                                                                        : std::string();
            if (!reasoning.empty()) {
                if (out.gen.time_to_first_token_ms == 0)
                    out.gen.time_to_first_token_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                out.text += reasoning;
                StreamSegment seg{StreamChannel::thinking, reasoning, false};
                deliver({seg});
            }
            if (d.contains("content") && d["content"].is_string() && !d["content"].get<std::string>().empty()) {
                if (out.gen.time_to_first_token_ms == 0)
                    out.gen.time_to_first_token_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                const std::string content = d["content"];
                out.text += content;
                deliver(parser.push(content)); // tags inside content (no reasoning parser) are split here
            }
        }
        if (c.contains("finish_reason") && c["finish_reason"].is_string())
            out.gen.stop = c["finish_reason"] == "length" ? GenerationResult::Stop::max_tokens : GenerationResult::Stop::eos;
    };

    httplib::Client cli(host_);
    cli.set_connection_timeout(10, 0);
    cli.set_read_timeout(options_.timeout_s, 0);
    httplib::Request req;
    req.method  = "POST";
    req.path    = path_prefix_ + "/chat/completions";
    req.headers = headers_for(options_);
    req.set_header("Content-Type", "application/json");
    req.set_header("Accept", "text/event-stream");
    req.body             = body.dump();
    req.response_handler = [&](const httplib::Response& r) {
        ok_status = r.status == 200;
        if (!ok_status) out.gen.stop = GenerationResult::Stop::eos;
        return true;
    };
    req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        if (!ok_status) {
            error_body.append(data, n);
            return true;
        }
        pending.append(data, n);
        for (size_t end; (end = pending.find('\n')) != std::string::npos;) {
            std::string line = pending.substr(0, end);
            pending.erase(0, end + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.rfind("data:", 0) == 0) handle_event(line.substr(line[5] == ' ' ? 6 : 5));
        }
        return !cancelled_.load(); // returning false closes the connection: the server cancels the request
    };
    auto res = cli.send(req);
    const double total_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (cancelled_) {
        out.gen.stop = GenerationResult::Stop::cancelled;
    } else if (!ok_status) {
        return Status(ErrorCode::io_error, error_text(res ? res->status : 0, error_body));
    } else if (!res) {
        return Status(ErrorCode::io_error, "connection to " + options_.base_url + " failed: " + httplib::to_string(res.error()));
    } else if (!done && out.text.empty()) {
        return Status(ErrorCode::io_error, options_.base_url + " closed the stream without an answer");
    }
    deliver(parser.finish());
    out.gen.decode_ms = total_ms - out.gen.time_to_first_token_ms;
    if (out.completion_tokens == 0) out.completion_tokens = int64_t(out.text.size() / 4); // server sent no usage
    return out;
}

} // namespace glmv::pipeline
