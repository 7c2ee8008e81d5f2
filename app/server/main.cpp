// glmv-server: an OpenAI-compatible API for the embedded engine.
//
//   glmv-server --model DIR [--port 8000] [--host 127.0.0.1] [--api-key K] [--allowed-local-media-path DIR]
//               [--weights bf16|q8|q4] [--max-body-mb 64]
//
// GET /v1/models; POST /v1/chat/completions (stream or not). Thinking goes to `reasoning_content`, the answer to
// `content`, as vLLM's GLM-4.5V/4.1V reasoning parser does. Binds to localhost unless told otherwise.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>

#include "engine_queue.h"
#include "glmv/common/log.h"
#include "openai_protocol.h"

using namespace glmv;
using json = nlohmann::json;

namespace {

httplib::Server* g_server = nullptr;
void             on_signal(int) {
    if (g_server) g_server->stop();
}

void send_error(httplib::Response& res, const server::ApiError& e) {
    res.status = e.http_status;
    res.set_content(e.body().dump(), "application/json");
}

std::string new_id() {
    static std::atomic<uint64_t> n{0};
    static const uint64_t        seed = std::random_device{}();
    char                         buf[48];
    std::snprintf(buf, sizeof buf, "chatcmpl-%016llx%04llx", (unsigned long long)seed, (unsigned long long)++n);
    return buf;
}

} // namespace

int main(int argc, char** argv) {
    std::string model_dir, host = "127.0.0.1", api_key, allowed, weights = "bf16", arithmetic = "auto";
    int         port = 8000, max_body_mb = 64;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto        value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "error: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--model") model_dir = value();
        else if (a == "--port") port = std::atoi(value().c_str());
        else if (a == "--host") host = value();
        else if (a == "--api-key") api_key = value();
        else if (a == "--allowed-local-media-path") allowed = value();
        else if (a == "--weights") weights = value();
        else if (a == "--prompt-arithmetic")
            arithmetic = value();
        else if (a == "--max-body-mb") max_body_mb = std::atoi(value().c_str());
        else if (a == "--version") {
            std::printf("glmv-server " GLMV_VERSION "\n");
            return 0;
        } else {
            std::fprintf(stderr, "usage: glmv-server --model DIR [--port P] [--host H] [--api-key K] "
                                 "[--allowed-local-media-path DIR] [--weights bf16|q8|q4] "
                                 "[--prompt-arithmetic auto|exact|bf16]\n");
            return 2;
        }
    }
    if (model_dir.empty() || port <= 0 || port > 65535 || max_body_mb <= 0) {
        std::fprintf(stderr, "error: --model DIR is required and --port must be 1..65535\n");
        return 2;
    }
    log_set([](LogLevel lvl, const char* msg) {
        if (lvl >= LogLevel::info) std::fprintf(stderr, "%s\n", msg);
    });
    const auto prompt_arithmetic = prompt_arithmetic_named(arithmetic);
    if (!prompt_arithmetic) {
        std::fprintf(stderr, "error: --prompt-arithmetic takes auto, exact or bf16\n");
        return 2;
    }
    LoadParams lp;
    lp.weights           = weight_format_named(weights);
    lp.prompt_arithmetic = *prompt_arithmetic;
    auto engine = pipeline::ChatEngine::open(model_dir, lp);
    if (!engine) {
        std::fprintf(stderr, "error: %s\n", engine.status().message().c_str());
        return 1;
    }
    const std::string     model_name = std::filesystem::path(model_dir).filename().string();
    server::EngineQueue   queue(**engine);
    server::ServerLimits  limits;
    limits.allowed_local_media_path = allowed;

    httplib::Server svr;
    g_server = &svr;
    svr.set_payload_max_length(size_t(max_body_mb) << 20);
    svr.set_read_timeout(60, 0);
    svr.set_write_timeout(60, 0);
    // Every error leaves in OpenAI's shape (413 for an oversized body comes from httplib itself).
    svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return;
        server::ApiError e;
        e.http_status = res.status;
        e.message     = res.status == 413 ? "the request body is too large" : res.status == 404 ? "no such endpoint" : "request failed";
        e.type        = res.status == 404 ? "not_found_error" : "invalid_request_error";
        res.set_content(e.body().dump(), "application/json");
    });
    auto authorized = [&](const httplib::Request& req, httplib::Response& res) {
        if (api_key.empty()) return true;
        if (req.get_header_value("Authorization") == "Bearer " + api_key) return true;
        server::ApiError e;
        e.http_status = 401;
        e.type        = "authentication_error";
        e.message     = "missing or wrong API key (send 'Authorization: Bearer <key>')";
        send_error(res, e);
        return false;
    };
    svr.Get("/v1/models", [&](const httplib::Request& req, httplib::Response& res) {
        if (!authorized(req, res)) return;
        json models = {{"object", "list"},
                       {"data", {{{"id", model_name}, {"object", "model"}, {"created", 0}, {"owned_by", "glmv"}}}}};
        res.set_content(models.dump(), "application/json");
    });
    svr.Post("/v1/chat/completions", [&](const httplib::Request& req, httplib::Response& res) {
        if (!authorized(req, res)) return;
        server::ChatRequest cr;
        server::ApiError    err;
        if (!server::parse_chat_request(req.body, limits, &cr, &err)) return send_error(res, err);
        const std::string id      = new_id();
        const int64_t     created = std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch()).count();
        const bool stream = cr.stream;
        auto       job    = queue.submit(std::move(cr));
        if (!stream) {
            // Wait for the first event: media and prompt errors come before any token and get their HTTP status.
            std::optional<server::JobEvent> first;
            while (!(first = job->next(1000))) {
            }
            if (first->kind == server::JobEvent::Kind::error) {
                server::ApiError e;
                e.message = first->text;
                return send_error(res, e);
            }
            if (first->kind == server::JobEvent::Kind::done) {
                res.set_content(server::completion_json(id, model_name, created, first->result).dump(), "application/json");
                return;
            }
            // Generation is under way. cpp-httplib 0.11 cannot tell a plain handler that its client left, so the
            // body is sent chunked, with a space (valid leading JSON whitespace) every second until the answer is
            // ready: when the client is gone that write fails and the request is cancelled.
            res.set_chunked_content_provider(
                "application/json",
                [&queue, job, id, created, model_name](size_t, httplib::DataSink& sink) {
                    while (true) {
                        auto ev = job->next(1000);
                        if (!ev) {
                            if (!sink.write(" ", 1)) {
                                queue.cancel(job);
                                return false;
                            }
                            continue;
                        }
                        if (ev->kind == server::JobEvent::Kind::done || ev->kind == server::JobEvent::Kind::error) {
                            std::string body;
                            if (ev->kind == server::JobEvent::Kind::done)
                                body = server::completion_json(id, model_name, created, ev->result).dump();
                            else {
                                server::ApiError e;
                                e.message = ev->text;
                                body      = e.body().dump();
                            }
                            sink.write(body.data(), body.size());
                            sink.done();
                            return true;
                        }
                    }
                },
                [&queue, job](bool success) {
                    if (!success) queue.cancel(job);
                });
            return;
        }
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(
            "text/event-stream",
            [&queue, job, id, created, model_name](size_t, httplib::DataSink& sink) {
                auto write = [&](const json& j) {
                    const std::string line = "data: " + j.dump() + "\n\n";
                    return sink.write(line.data(), line.size());
                };
                if (!write(server::chunk_json(id, model_name, created, {{"role", "assistant"}, {"content", ""}}, nullptr))) {
                    queue.cancel(job);
                    return false;
                }
                while (true) {
                    auto ev = job->next(500);
                    if (!ev) {
                        if (!sink.is_writable()) { // client gone
                            queue.cancel(job);
                            return false;
                        }
                        continue;
                    }
                    bool ok = true;
                    switch (ev->kind) {
                    case server::JobEvent::Kind::thinking:
                        ok = write(server::chunk_json(id, model_name, created, {{"reasoning_content", ev->text}}, nullptr));
                        break;
                    case server::JobEvent::Kind::answer:
                        ok = write(server::chunk_json(id, model_name, created, {{"content", ev->text}}, nullptr));
                        break;
                    case server::JobEvent::Kind::error: {
                        server::ApiError e;
                        e.message = ev->text;
                        const std::string line = "data: " + e.body().dump() + "\n\ndata: [DONE]\n\n";
                        sink.write(line.data(), line.size());
                        sink.done();
                        return true;
                    }
                    case server::JobEvent::Kind::done: {
                        const bool length = ev->result.gen.stop == GenerationResult::Stop::max_tokens;
                        json       last   = server::chunk_json(id, model_name, created, json::object(), length ? "length" : "stop");
                        last["usage"]     = {{"prompt_tokens", ev->result.gen.prompt_tokens},
                                             {"completion_tokens", ev->result.completion_tokens},
                                             {"total_tokens", ev->result.gen.prompt_tokens + ev->result.completion_tokens}};
                        write(last);
                        const std::string done = "data: [DONE]\n\n";
                        sink.write(done.data(), done.size());
                        sink.done();
                        return true;
                    }
                    }
                    if (!ok) {
                        queue.cancel(job);
                        return false;
                    }
                }
            },
            [&queue, job](bool success) {
                if (!success) queue.cancel(job);
            });
    });
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::fprintf(stderr, "glmv-server: serving %s on http://%s:%d/v1\n", model_name.c_str(), host.c_str(), port);
    if (!svr.listen(host.c_str(), port)) {
        std::fprintf(stderr, "error: cannot listen on %s:%d (port in use?)\n", host.c_str(), port);
        return 1;
    }
    return 0;
}
