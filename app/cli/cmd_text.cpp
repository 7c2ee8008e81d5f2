// glmv-cli tokenize / prompt: the tokenizer and the chat prompt, as the reference computes them.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "command.h"
#include "glmv/inference/inputs_io.h"
#include "glmv/inference/tokenizer.h"
#include "messages_json.h"

namespace glmv::cli {
namespace {

std::string join(const std::vector<int64_t>& ids) {
    std::string s;
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
    return s;
}

int run_tokenize(Args& args) {
    auto model = args.get("model");
    auto file  = args.get("text-file");
    if (!model || !file) return fail("usage: glmv-cli tokenize --model DIR --text-file F");
    auto tok = Tokenizer::load(*model);
    if (!tok) return fail(tok.status().message());
    std::ifstream f(*file, std::ios::binary);
    if (!f) return fail("cannot open '" + *file + "'");
    std::stringstream ss;
    ss << f.rdbuf();
    std::vector<int64_t> ids;
    for (int32_t id : tok.value()->encode(ss.str())) ids.push_back(id);
    std::printf("%s\n", join(ids).c_str());
    return 0;
}

int run_prompt(Args& args) {
    auto model = args.get("model");
    auto msgs  = args.get("messages");
    if (!model || !msgs) return fail("usage: glmv-cli prompt --model DIR --messages M.json [--out IN.safetensors]");
    auto turns = load_messages_json(*msgs);
    if (!turns) return fail(turns.status().message());
    // The template's own rendering: assistant history verbatim.
    pipeline::ChatSettings settings = pipeline::ChatSettings::official_demo();
    settings.strip_history_thinking = false;
    auto p = pipeline::prepare_prompt(*model, *turns, settings);
    if (!p) return fail(p.status().message());
    if (auto out = args.get("out")) {
        Status st = write_model_inputs(*out, p->inputs);
        if (!st.ok()) return fail(st.message());
    }
    std::fprintf(stderr, "%s\n", p->prompt.text.c_str());
    std::printf("%s\n", join(p->inputs.input_ids).c_str());
    return 0;
}

Registrar reg_tokenize("tokenize", "--model DIR --text-file F   token ids (no special tokens added) on the last line",
                       run_tokenize);
Registrar reg_prompt("prompt", "--model DIR --messages M.json [--out IN.safetensors]   prompt ids on the last line",
                     run_prompt);

} // namespace
} // namespace glmv::cli
