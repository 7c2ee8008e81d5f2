// glmv-cli chat: one-shot when a question is given, interactive multi-turn otherwise (like the official
// trans_infer_cli.py). Thinking is shown dimmed, the answer plain; Ctrl+C stops the current answer without leaving;
// --json prints one machine-readable record per turn.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "glmv/media/pdf.h"
#include "glmv/pipeline/chat_engine.h"
#include "glmv/pipeline/remote_client.h"

namespace glmv::cli {
namespace {

pipeline::ChatRunner* g_engine = nullptr;
volatile std::sig_atomic_t g_interrupted = 0;

void on_sigint(int) {
    g_interrupted = 1;
    if (g_engine) g_engine->cancel(); // only sets an atomic flag: async-signal-safe
}

bool parse_settings(const Args& args, pipeline::ChatSettings* s) {
    double    temperature = s->sampling.temperature, top_p = s->sampling.top_p, rep = s->sampling.repetition_penalty;
    long long top_k = s->sampling.top_k, max_new = s->max_new_tokens, seed = 0, budget = -1;
    if (!args.get_double("temperature", &temperature) || !args.get_double("top-p", &top_p) ||
        !args.get_double("repetition-penalty", &rep) || !args.get_int("top-k", &top_k) ||
        !args.get_int("max-new-tokens", &max_new) || !args.get_int("seed", &seed) ||
        !args.get_int("thinking-budget", &budget))
        return false;
    s->sampling.temperature        = float(temperature);
    s->sampling.top_p              = float(top_p);
    s->sampling.repetition_penalty = float(rep);
    s->sampling.top_k              = int(top_k);
    s->sampling.seed               = uint64_t(seed);
    s->sampling.greedy             = args.has("greedy");
    s->max_new_tokens              = int(std::max(1LL, max_new));
    s->thinking_budget             = int(budget);
    s->enable_thinking             = !args.has("no-thinking");
    return true;
}

int run_chat(Args& args) {
    auto model_dir  = args.get("model");
    auto remote_url = args.get("remote-url");
    if (!model_dir && !remote_url)
        return fail("usage: glmv-cli chat (--model DIR | --remote-url URL [--api-key K] [--remote-model M]) [--image F]… "
                    "[--video F] [--pdf F [--pages A-B]] [--json] [--greedy] [--temperature T] [--top-p P] [--top-k K] "
                    "[--max-new-tokens N] [question]");
    pipeline::ChatSettings settings = pipeline::ChatSettings::official_demo();
    if (!parse_settings(args, &settings)) return 2;
    std::vector<pipeline::Attachment> media;
    for (const std::string& f : args.get_all("image")) media.push_back({pipeline::Attachment::Kind::image, f, {}, 1, 0});
    for (const std::string& f : args.get_all("video")) media.push_back({pipeline::Attachment::Kind::video, f, {}, 1, 0});
    for (const std::string& f : args.get_all("pdf")) {
        pipeline::Attachment a{pipeline::Attachment::Kind::pdf, f, {}, 1, 0};
        if (auto pages = args.get("pages")) {
            auto r = media::parse_page_range(*pages);
            if (!r) return fail(r.status().message());
            a.first_page = r->first;
            a.last_page  = r->second;
        }
        media.push_back(a);
    }
    std::unique_ptr<pipeline::ChatRunner> engine;
    if (remote_url) {
        auto r = pipeline::RemoteChatClient::connect({*remote_url, args.get_or("api-key", ""), args.get_or("remote-model", "")});
        if (!r) return fail(r.status().message());
        engine = std::move(r.value());
    } else {
        LoadParams  lp;
        std::string weights = args.get_or("weights", "bf16");
        lp.weights          = weight_format_named(weights);
        if (!read_prompt_arithmetic(args, &lp.prompt_arithmetic)) return 2;
        auto e = pipeline::ChatEngine::open(*model_dir, lp);
        if (!e) return fail(e.status().message());
        engine = std::move(e.value());
    }
    g_engine = engine.get();
    std::signal(SIGINT, on_sigint);

    const bool  as_json = args.has("json");
    const bool  tty     = isatty(STDOUT_FILENO) && !as_json;
    std::vector<pipeline::Turn> history;
    if (auto sys = args.get("system")) history.push_back({"system", *sys, {}});
    const bool one_shot = !args.positional().empty();
    std::string question;
    for (const std::string& p : args.positional()) question += (question.empty() ? "" : " ") + p;

    while (true) {
        if (!one_shot) {
            std::fprintf(stderr, "\n> ");
            if (!std::getline(std::cin, question)) break;
            if (question.empty()) continue;
            if (question == "/exit" || question == "/quit") break;
        }
        history.push_back({"user", question, history.size() <= 1 ? media : std::vector<pipeline::Attachment>{}});
        g_interrupted = 0;
        StreamChannel last = StreamChannel::answer;
        bool          any  = false;
        auto r = engine->run(history, settings, [&](const StreamSegment& s) {
            if (as_json) return;
            if (tty && (!any || s.channel != last)) std::fputs(s.channel == StreamChannel::thinking ? "\x1b[2m" : "\x1b[0m", stdout);
            if (!tty && any && s.channel != last && s.channel == StreamChannel::answer) std::fputs("\n", stdout);
            std::fputs(s.text.c_str(), stdout);
            std::fflush(stdout);
            last = s.channel;
            any  = true;
        });
        if (tty) std::fputs("\x1b[0m", stdout);
        if (!r) {
            std::fprintf(stderr, "error: %s\n", r.status().message().c_str());
            history.pop_back();
            if (one_shot) return 1;
            continue;
        }
        const bool cancelled = r->gen.stop == GenerationResult::Stop::cancelled;
        if (as_json) {
            nlohmann::json rec = {{"thinking", r->thinking},
                                  {"answer", r->answer},
                                  {"text", r->text},
                                  {"stop", cancelled ? "cancelled" : r->gen.stop == GenerationResult::Stop::eos ? "eos" : "length"},
                                  {"prompt_tokens", r->gen.prompt_tokens},
                                  {"reused_prompt_tokens", r->gen.reused_tokens},
                                  {"completion_tokens", r->completion_tokens},
                                  {"time_to_first_token_ms", r->gen.time_to_first_token_ms},
                                  {"prefill_ms", r->gen.prefill_ms},
                                  {"vision_ms", r->gen.vision_ms},
                                  {"decode_ms", r->gen.decode_ms},
                                  {"tokens_per_s", r->gen.decode_ms > 0 ? double(r->completion_tokens) / (r->gen.decode_ms / 1e3) : 0.0}};
            std::printf("%s\n", rec.dump().c_str());
        } else {
            std::printf("\n");
            std::fprintf(stderr, "[%s%lld tokens, first token after %.0f ms, %.1f tokens/s]\n", cancelled ? "stopped, " : "",
                         (long long)r->completion_tokens, r->gen.time_to_first_token_ms,
                         r->gen.decode_ms > 0 ? double(r->completion_tokens) / (r->gen.decode_ms / 1e3) : 0.0);
        }
        history.push_back({"assistant", r->text, {}});
        if (one_shot) break;
    }
    g_engine = nullptr;
    return 0;
}

Registrar reg_chat("chat",
                   "--model DIR [--image F]… [--video F] [--pdf F [--pages A-B]] [--json] [--greedy] "
                   "[--prompt-arithmetic auto|exact|bf16] [question]   "
                   "chat in the terminal",
                   run_chat);

} // namespace
} // namespace glmv::cli
