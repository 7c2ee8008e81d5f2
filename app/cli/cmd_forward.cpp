// glmv-cli forward / generate: run the engine on prepared inputs (numerics checks against transformers).
#include <cstdio>

#include "command.h"
#include "glmv/inference/engine.h"
#include "glmv/inference/inputs_io.h"
#include "glmv/inference/safetensors.h"

namespace glmv::cli {
namespace {

Result<std::shared_ptr<const Model>> load_model_from(const Args& args) {
    auto dir = args.get("model");
    if (!dir) return Status(ErrorCode::invalid_argument, "--model DIR is required");
    LoadParams lp;
    long long  threads = 0;
    if (!args.get_int("threads", &threads)) return Status(ErrorCode::invalid_argument, "bad --threads");
    lp.n_threads = int(threads);
    // These commands check the engine's numerics against transformers' fp32 outputs: fp32 products unless asked.
    lp.prompt_arithmetic = PromptArithmetic::exact;
    if (!read_prompt_arithmetic(args, &lp.prompt_arithmetic))
        return Status(ErrorCode::invalid_argument, "bad --prompt-arithmetic");
    return Model::load(*dir, lp);
}

int run_forward(Args& args) {
    auto inputs_path = args.get("inputs");
    auto out_path    = args.get("out");
    if (!inputs_path || !out_path) return fail("usage: glmv-cli forward --model DIR --inputs IN.safetensors --out OUT.safetensors");
    auto model = load_model_from(args);
    if (!model) return fail(model.status().message());
    auto in = read_model_inputs(*inputs_path);
    if (!in) return fail(in.status().message());
    Session            s(model.value());
    std::vector<float> logits;
    Status             st = s.forward_all(*in, &logits);
    if (!st.ok()) return fail(st.message());
    const int64_t     S = int64_t(in->input_ids.size()), V = model.value()->config().text.vocab_size;
    SafetensorsWriter w;
    w.add_f32("logits", {S, V}, logits.data());
    w.add_i64("position_ids", {3, S}, s.position_ids().data());
    const int64_t delta = s.rope_delta();
    w.add_i64("rope_delta", {1}, &delta);
    st = w.write(*out_path);
    if (!st.ok()) return fail(st.message());
    std::printf("wrote %s: logits [%lld, %lld], position_ids [3, %lld]\n", out_path->c_str(), (long long)S,
                (long long)V, (long long)S);
    return 0;
}

int run_generate(Args& args) {
    auto inputs_path = args.get("inputs");
    if (!inputs_path) return fail("usage: glmv-cli generate --model DIR --inputs IN.safetensors --max-new-tokens N --greedy");
    long long max_new = 256, top_k = 0, seed = 0;
    double    temperature = 1.0, top_p = 1.0, rep = 1.0;
    if (!args.get_int("max-new-tokens", &max_new) || !args.get_int("top-k", &top_k) || !args.get_int("seed", &seed) ||
        !args.get_double("temperature", &temperature) || !args.get_double("top-p", &top_p) ||
        !args.get_double("repetition-penalty", &rep))
        return 2;
    if (max_new < 1 || max_new > 1 << 20) return fail("--max-new-tokens must be between 1 and 1048576");
    auto model = load_model_from(args);
    if (!model) return fail(model.status().message());
    auto in = read_model_inputs(*inputs_path);
    if (!in) return fail(in.status().message());
    GenerationParams gp;
    gp.max_new_tokens               = int(max_new);
    gp.sampling.greedy              = args.has("greedy");
    gp.sampling.temperature         = float(temperature);
    gp.sampling.top_p               = float(top_p);
    gp.sampling.top_k               = int(top_k);
    gp.sampling.repetition_penalty  = float(rep);
    gp.sampling.seed                = uint64_t(seed);
    Session s(model.value());
    auto    r = s.generate(*in, gp, [](int64_t) { return true; });
    if (!r) return fail(r.status().message());
    std::fprintf(stderr, "prompt %lld tokens, prefill %.1f ms, %zu new tokens in %.1f ms\n",
                 (long long)r->prompt_tokens, r->prefill_ms, r->tokens.size(), r->decode_ms);
    std::string line;
    for (size_t i = 0; i < r->tokens.size(); ++i) line += (i ? " " : "") + std::to_string(r->tokens[i]);
    std::printf("%s\n", line.c_str());
    return 0;
}

Registrar
          reg_forward("forward",
                      "--model DIR --inputs IN.safetensors --out OUT.safetensors [--prompt-arithmetic exact|bf16|auto]   "
                            "logits + positions",
                      run_forward);
Registrar reg_generate("generate",
                       "--model DIR --inputs IN.safetensors --max-new-tokens N [--greedy | --temperature T --top-p P "
                       "--top-k K --seed S]   generated ids on the last line",
                       run_generate);

} // namespace
} // namespace glmv::cli
