// glmv-bench make-checkpoint: writes a random-weight GLM-4.1V checkpoint in the real format (sharded bf16
// safetensors, real tensor names and shapes) for any config, streaming tensor by tensor so memory stays small.
#include "make_checkpoint.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "glmv/inference/model_config.h"
#include "glmv/inference/safetensors.h"

namespace glmv::bench {

namespace fs = std::filesystem;
using json   = nlohmann::json;

namespace {

struct Spec {
    std::string          name;
    std::vector<int64_t> shape;
    float                scale; // std of the random values; norms are filled around 1
    bool                 norm;
};

std::vector<Spec> tensor_specs(const ModelConfig& c) {
    const TextConfig&   t = c.text;
    const VisionConfig& v = c.vision;
    std::vector<Spec>   s;
    const int64_t H = v.hidden_size, O = v.out_hidden_size, I = v.intermediate, G = v.pos_grid();
    const std::string vp = "model.visual.";
    s.push_back({vp + "patch_embed.proj.weight", {H, v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size}, 0.02f, false});
    s.push_back({vp + "patch_embed.proj.bias", {H}, 0.02f, false});
    s.push_back({vp + "post_conv_layernorm.weight", {H}, 0, true});
    s.push_back({vp + "embeddings.position_embedding.weight", {G * G, H}, 0.02f, false});
    for (int64_t i = 0; i < v.depth; ++i) {
        const std::string b = vp + "blocks." + std::to_string(i) + ".";
        s.push_back({b + "norm1.weight", {H}, 0, true});
        s.push_back({b + "norm2.weight", {H}, 0, true});
        s.push_back({b + "attn.qkv.weight", {3 * H, H}, 0.02f, false});
        s.push_back({b + "attn.proj.weight", {H, H}, 0.02f, false});
        s.push_back({b + "mlp.gate_proj.weight", {O, H}, 0.02f, false});
        s.push_back({b + "mlp.up_proj.weight", {O, H}, 0.02f, false});
        s.push_back({b + "mlp.down_proj.weight", {H, O}, 0.02f, false});
    }
    s.push_back({vp + "post_layernorm.weight", {H}, 0, true});
    s.push_back({vp + "downsample.weight", {O, H, 2, 2}, 0.02f, false});
    s.push_back({vp + "downsample.bias", {O}, 0.02f, false});
    s.push_back({vp + "merger.proj.weight", {O, O}, 0.02f, false});
    s.push_back({vp + "merger.post_projection_norm.weight", {O}, 0, true});
    s.push_back({vp + "merger.post_projection_norm.bias", {O}, 0.02f, false});
    s.push_back({vp + "merger.gate_proj.weight", {I, O}, 0.02f, false});
    s.push_back({vp + "merger.up_proj.weight", {I, O}, 0.02f, false});
    s.push_back({vp + "merger.down_proj.weight", {O, I}, 0.02f, false});
    const std::string lp = "model.language_model.";
    const int64_t     Ht = t.hidden_size, QD = t.n_head * t.head_dim, KD = t.n_head_kv * t.head_dim, It = t.intermediate;
    s.push_back({lp + "embed_tokens.weight", {t.vocab_size, Ht}, 0.02f, false});
    for (int64_t i = 0; i < t.n_layer; ++i) {
        const std::string b = lp + "layers." + std::to_string(i) + ".";
        s.push_back({b + "input_layernorm.weight", {Ht}, 0, true});
        s.push_back({b + "post_self_attn_layernorm.weight", {Ht}, 0, true});
        s.push_back({b + "post_attention_layernorm.weight", {Ht}, 0, true});
        s.push_back({b + "post_mlp_layernorm.weight", {Ht}, 0, true});
        s.push_back({b + "self_attn.q_proj.weight", {QD, Ht}, 0.02f, false});
        s.push_back({b + "self_attn.k_proj.weight", {KD, Ht}, 0.02f, false});
        s.push_back({b + "self_attn.v_proj.weight", {KD, Ht}, 0.02f, false});
        if (t.attention_bias) {
            s.push_back({b + "self_attn.q_proj.bias", {QD}, 0.02f, false});
            s.push_back({b + "self_attn.k_proj.bias", {KD}, 0.02f, false});
            s.push_back({b + "self_attn.v_proj.bias", {KD}, 0.02f, false});
        }
        s.push_back({b + "self_attn.o_proj.weight", {Ht, QD}, 0.02f, false});
        s.push_back({b + "mlp.gate_up_proj.weight", {2 * It, Ht}, 0.02f, false});
        s.push_back({b + "mlp.down_proj.weight", {Ht, It}, 0.02f, false});
    }
    s.push_back({lp + "norm.weight", {Ht}, 0, true});
    if (!c.tie_word_embeddings) s.push_back({"lm_head.weight", {t.vocab_size, Ht}, 0.02f, false});
    return s;
}

int64_t numel(const std::vector<int64_t>& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
}

// Writes one shard: header first, then each tensor generated in 1 MiB pieces.
// splitmix64's output function: a counter-based generator, so each value depends only on the seed and its position
// in the checkpoint and all threads can fill a buffer at once (the 9B's 10 billion values took 111 s on one core of
// the 16-core host, most of a benchmark run's setup).
inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

// `position` counts the values written so far over all shards.
Status write_shard(const std::string& path, const std::vector<const Spec*>& specs, uint64_t seed, uint64_t& position) {
    json     hdr = json::object();
    uint64_t off = 0;
    hdr["__metadata__"] = {{"format", "pt"}};
    for (const Spec* s : specs) {
        uint64_t bytes = uint64_t(numel(s->shape)) * 2;
        hdr[s->name]   = {{"dtype", "BF16"}, {"shape", s->shape}, {"data_offsets", {off, off + bytes}}};
        off += bytes;
    }
    std::string h = hdr.dump();
    while (h.size() % 8) h.push_back(' ');
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) return Status(ErrorCode::io_error, "cannot write " + path);
    uint64_t n = h.size();
    char     len[8];
    for (int i = 0; i < 8; ++i) len[i] = char(n >> (8 * i));
    f.write(len, 8);
    f.write(h.data(), std::streamsize(h.size()));
    std::vector<uint16_t> buf(1 << 22); // 8 MiB
    for (const Spec* s : specs) {
        int64_t left = numel(s->shape);
        while (left > 0) {
            const int64_t  k    = std::min<int64_t>(left, int64_t(buf.size()));
            const uint64_t base = seed * 0x9e3779b97f4a7c15ull + position;
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < k; ++i) {
                // Cheap approximately normal values: sum of two uniforms, scaled.
                const uint64_t r = mix64((base + uint64_t(i)) * 0x9e3779b97f4a7c15ull);
                const float    u = (float(r & 0xffffff) + float((r >> 24) & 0xffffff)) / float(1 << 24) - 1.0f;
                const float    v = s->norm ? 1.0f + 0.1f * u : s->scale * 1.7f * u;
                buf[size_t(i)]   = f32_to_bf16(v);
            }
            f.write(reinterpret_cast<const char*>(buf.data()), std::streamsize(k * 2));
            left -= k, position += uint64_t(k);
        }
    }
    if (!f) return Status(ErrorCode::io_error, "failed writing " + path + " (disk full?)");
    return {};
}

} // namespace

Status make_checkpoint(const std::string& config_path, const std::string& out_dir, uint64_t shard_bytes,
                       uint64_t seed) {
    auto cfg = load_model_config(config_path);
    if (!cfg) return cfg.status();
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec) return Status(ErrorCode::io_error, "cannot create " + out_dir + ": " + ec.message());
    const std::vector<Spec> specs = tensor_specs(*cfg);
    std::vector<std::vector<const Spec*>> shards(1);
    uint64_t                              cur = 0;
    for (const Spec& s : specs) {
        uint64_t b = uint64_t(numel(s.shape)) * 2;
        if (cur > 0 && cur + b > shard_bytes) {
            shards.emplace_back();
            cur = 0;
        }
        shards.back().push_back(&s);
        cur += b;
    }
    uint64_t        position = 0;
    json            map = json::object();
    uint64_t        total = 0;
    for (size_t i = 0; i < shards.size(); ++i) {
        char name[64];
        std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
        GLMV_RETURN_IF_ERROR(write_shard((fs::path(out_dir) / name).string(), shards[i], seed, position));
        for (const Spec* s : shards[i]) {
            map[s->name] = name;
            total += uint64_t(numel(s->shape)) * 2;
        }
        std::fprintf(stderr, "wrote %s\n", name);
    }
    std::ofstream(fs::path(out_dir) / "model.safetensors.index.json")
        << json{{"metadata", {{"total_size", total}}}, {"weight_map", map}}.dump(1);
    fs::copy_file(config_path, fs::path(out_dir) / "config.json", fs::copy_options::overwrite_existing, ec);
    // Processor configs and tokenizer files next to the config are copied too, so the folder is a usable model dir.
    for (const char* extra : {"preprocessor_config.json", "video_preprocessor_config.json", "tokenizer.json",
                              "tokenizer_config.json", "chat_template.jinja", "generation_config.json"}) {
        fs::path src = fs::path(config_path).parent_path() / extra;
        if (fs::exists(src, ec)) fs::copy_file(src, fs::path(out_dir) / extra, fs::copy_options::overwrite_existing, ec);
    }
    return {};
}

} // namespace glmv::bench
