// config.json → ModelConfig, for both the flat (released) and nested (transformers ≥ 4.5x) schemas.
#include "glmv/inference/model_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "glmv/inference/limits.h"

namespace glmv {

using json = nlohmann::json;

namespace {

Status bad(const std::string& label, const std::string& msg) {
    return Status(ErrorCode::bad_format, label + ": " + msg);
}

// Reads an integer field; `required` fields must exist. Range-checked to [lo, hi].
Status read_int(const json& obj, const char* key, int64_t* out, bool required, int64_t lo, int64_t hi,
                const std::string& label) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
        if (required) return bad(label, std::string("missing required field '") + key + "'");
        return {};
    }
    if (!it->is_number_integer()) return bad(label, std::string("field '") + key + "' must be an integer, got " + it->dump());
    int64_t v = it->get<int64_t>();
    if (v < lo || v > hi)
        return bad(label, std::string("field '") + key + "' = " + std::to_string(v) + " is outside [" +
                              std::to_string(lo) + ", " + std::to_string(hi) + "]");
    *out = v;
    return {};
}

Status read_double(const json& obj, const char* key, double* out, const std::string& label) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return {};
    if (!it->is_number()) return bad(label, std::string("field '") + key + "' must be a number, got " + it->dump());
    *out = it->get<double>();
    return {};
}

Status read_bool(const json& obj, const char* key, bool* out, const std::string& label) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return {};
    if (!it->is_boolean()) return bad(label, std::string("field '") + key + "' must be true/false");
    *out = it->get<bool>();
    return {};
}

Status parse_text(const json& t, const json& root, TextConfig* c, const std::string& label) {
    using namespace limits;
    GLMV_RETURN_IF_ERROR(read_int(t, "vocab_size", &c->vocab_size, true, 1, config_max_vocab, label));
    GLMV_RETURN_IF_ERROR(read_int(t, "hidden_size", &c->hidden_size, true, 1, config_max_hidden, label));
    GLMV_RETURN_IF_ERROR(read_int(t, "num_hidden_layers", &c->n_layer, true, 1, config_max_layers, label));
    GLMV_RETURN_IF_ERROR(read_int(t, "num_attention_heads", &c->n_head, true, 1, config_max_heads, label));
    c->n_head_kv = c->n_head;
    GLMV_RETURN_IF_ERROR(read_int(t, "num_key_value_heads", &c->n_head_kv, false, 1, config_max_heads, label));
    GLMV_RETURN_IF_ERROR(read_int(t, "intermediate_size", &c->intermediate, true, 1, config_max_intermediate, label));
    c->max_positions = 65536;
    GLMV_RETURN_IF_ERROR(read_int(t, "max_position_embeddings", &c->max_positions, false, 1, config_max_positions, label));
    GLMV_RETURN_IF_ERROR(read_double(t, "rms_norm_eps", &c->rms_norm_eps, label));
    GLMV_RETURN_IF_ERROR(read_bool(t, "attention_bias", &c->attention_bias, label));
    GLMV_RETURN_IF_ERROR(read_int(t, "pad_token_id", &c->pad_token_id, false, -1, config_max_vocab, label));

    // Rope settings: nested schema keeps them in rope_parameters; flat schema has rope_theta and
    // partial_rotary_factor at top level and mrope_section in rope_scaling.
    const json* rope = nullptr;
    if (auto it = t.find("rope_parameters"); it != t.end() && it->is_object()) rope = &*it;
    else if (auto it2 = t.find("rope_scaling"); it2 != t.end() && it2->is_object()) rope = &*it2;
    GLMV_RETURN_IF_ERROR(read_double(t, "rope_theta", &c->rope_theta, label));
    GLMV_RETURN_IF_ERROR(read_double(t, "partial_rotary_factor", &c->partial_rotary, label));
    const json* mrope = nullptr;
    if (rope) {
        GLMV_RETURN_IF_ERROR(read_double(*rope, "rope_theta", &c->rope_theta, label));
        GLMV_RETURN_IF_ERROR(read_double(*rope, "partial_rotary_factor", &c->partial_rotary, label));
        if (auto it = rope->find("mrope_section"); it != rope->end()) mrope = &*it;
    }
    if (!mrope) return bad(label, "missing mrope_section (expected in rope_parameters or rope_scaling)");
    if (!mrope->is_array() || mrope->size() != 3) return bad(label, "mrope_section must be a list of 3 integers");
    for (int i = 0; i < 3; ++i) {
        if (!(*mrope)[i].is_number_integer() || (*mrope)[i].get<int64_t>() < 0 || (*mrope)[i].get<int64_t>() > 4096)
            return bad(label, "mrope_section entries must be small non-negative integers");
        c->mrope_section[i] = (*mrope)[i].get<int>();
    }
    if (c->rope_theta <= 0) return bad(label, "rope_theta must be positive");
    if (!(c->partial_rotary > 0 && c->partial_rotary <= 1)) return bad(label, "partial_rotary_factor must be in (0, 1]");

    if (c->hidden_size % c->n_head != 0)
        return bad(label, "hidden_size " + std::to_string(c->hidden_size) + " is not divisible by num_attention_heads " +
                              std::to_string(c->n_head));
    c->head_dim = c->hidden_size / c->n_head;
    if (auto it = t.find("head_dim"); it != t.end() && it->is_number_integer()) {
        if (it->get<int64_t>() != c->head_dim) return bad(label, "head_dim differs from hidden_size / heads (unsupported)");
    }
    if (c->n_head % c->n_head_kv != 0) return bad(label, "num_attention_heads is not a multiple of num_key_value_heads");
    c->rotary_dim = int64_t(double(c->head_dim) * c->partial_rotary);
    if (c->rotary_dim % 2 != 0 || c->rotary_dim <= 0) return bad(label, "rotary dimension must be even and positive");
    if (c->mrope_section[0] + c->mrope_section[1] + c->mrope_section[2] != c->rotary_dim / 2)
        return bad(label, "mrope_section sums to " +
                              std::to_string(c->mrope_section[0] + c->mrope_section[1] + c->mrope_section[2]) +
                              " but the rotary dimension needs " + std::to_string(c->rotary_dim / 2));

    // eos ids may live in the text part or at top level; a single int or a list.
    const json* eos = nullptr;
    if (auto it = t.find("eos_token_id"); it != t.end() && !it->is_null()) eos = &*it;
    else if (auto it2 = root.find("eos_token_id"); it2 != root.end() && !it2->is_null()) eos = &*it2;
    if (eos) {
        auto add = [&](const json& v) -> Status {
            if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= c->vocab_size)
                return bad(label, "eos_token_id " + v.dump() + " is not a token id of this vocabulary");
            c->eos_token_ids.push_back(v.get<int64_t>());
            return {};
        };
        if (eos->is_array())
            for (const json& v : *eos) GLMV_RETURN_IF_ERROR(add(v));
        else GLMV_RETURN_IF_ERROR(add(*eos));
    }
    return {};
}

Status parse_vision(const json& v, VisionConfig* c, const std::string& label) {
    using namespace limits;
    GLMV_RETURN_IF_ERROR(read_int(v, "hidden_size", &c->hidden_size, true, 1, config_max_hidden, label));
    GLMV_RETURN_IF_ERROR(read_int(v, "depth", &c->depth, true, 1, config_max_layers, label));
    GLMV_RETURN_IF_ERROR(read_int(v, "num_heads", &c->n_head, true, 1, config_max_heads, label));
    GLMV_RETURN_IF_ERROR(read_int(v, "intermediate_size", &c->intermediate, true, 1, config_max_intermediate, label));
    GLMV_RETURN_IF_ERROR(read_int(v, "out_hidden_size", &c->out_hidden_size, true, 1, config_max_hidden, label));
    GLMV_RETURN_IF_ERROR(read_int(v, "patch_size", &c->patch_size, false, 1, 1024, label));
    GLMV_RETURN_IF_ERROR(read_int(v, "temporal_patch_size", &c->temporal_patch_size, false, 1, 16, label));
    GLMV_RETURN_IF_ERROR(read_int(v, "spatial_merge_size", &c->spatial_merge_size, false, 1, 16, label));
    GLMV_RETURN_IF_ERROR(read_int(v, "image_size", &c->image_size, false, 1, 1 << 16, label));
    GLMV_RETURN_IF_ERROR(read_int(v, "in_channels", &c->in_channels, false, 1, 16, label));
    GLMV_RETURN_IF_ERROR(read_double(v, "rms_norm_eps", &c->rms_norm_eps, label));
    GLMV_RETURN_IF_ERROR(read_bool(v, "attention_bias", &c->attention_bias, label));
    if (auto it = v.find("rope_parameters"); it != v.end() && it->is_object())
        GLMV_RETURN_IF_ERROR(read_double(*it, "rope_theta", &c->rope_theta, label));
    if (c->hidden_size % c->n_head != 0) return bad(label, "vision hidden_size is not divisible by num_heads");
    c->head_dim = c->hidden_size / c->n_head;
    if (c->head_dim % 4 != 0) return bad(label, "vision head_dim must be a multiple of 4 (2D rotary)");
    if (c->image_size % c->patch_size != 0) return bad(label, "vision image_size is not a multiple of patch_size");
    if (c->spatial_merge_size != 2) return bad(label, "only spatial_merge_size 2 is supported (GLM-4.1V uses 2)");
    if (c->temporal_patch_size != 2) return bad(label, "only temporal_patch_size 2 is supported (GLM-4.1V uses 2)");
    return {};
}

} // namespace

Result<ModelConfig> parse_model_config(const std::string& text, const std::string& label) {
    json root;
    try {
        root = json::parse(text);
    } catch (const std::exception& e) {
        return bad(label, std::string("not valid JSON (") + e.what() + ")");
    }
    if (!root.is_object()) return bad(label, "top level is not a JSON object");
    if (auto mt = root.find("model_type"); mt != root.end() && mt->is_string()) {
        std::string t = mt->get<std::string>();
        if (t != "glm4v")
            return Status(ErrorCode::unsupported,
                          label + ": model_type is '" + t + "', but this app runs GLM-4.1V models (model_type 'glm4v')");
    }
    ModelConfig c;
    c.source_path = label;
    const json* text_obj = &root;
    if (auto it = root.find("text_config"); it != root.end() && it->is_object()) text_obj = &*it;
    GLMV_RETURN_IF_ERROR(parse_text(*text_obj, root, &c.text, label));
    auto vit = root.find("vision_config");
    if (vit == root.end() || !vit->is_object()) return bad(label, "missing vision_config");
    GLMV_RETURN_IF_ERROR(parse_vision(*vit, &c.vision, label));
    if (c.vision.out_hidden_size != c.text.hidden_size)
        return bad(label, "vision out_hidden_size differs from the text hidden_size");

    const int64_t V = c.text.vocab_size;
    struct IdField {
        const char* key;
        int64_t*    out;
    } ids[] = {{"image_token_id", &c.image_token_id},         {"video_token_id", &c.video_token_id},
               {"image_start_token_id", &c.image_start_token_id}, {"image_end_token_id", &c.image_end_token_id},
               {"video_start_token_id", &c.video_start_token_id}, {"video_end_token_id", &c.video_end_token_id}};
    for (auto& f : ids) GLMV_RETURN_IF_ERROR(read_int(root, f.key, f.out, true, 0, V - 1, label));
    GLMV_RETURN_IF_ERROR(read_bool(root, "tie_word_embeddings", &c.tie_word_embeddings, label));
    if (text_obj != &root) GLMV_RETURN_IF_ERROR(read_bool(*text_obj, "tie_word_embeddings", &c.tie_word_embeddings, label));
    return c;
}

Result<ModelConfig> load_model_config(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return Status(ErrorCode::not_found, "cannot open '" + path + "': is this a Hugging Face model folder?");
    f.seekg(0, std::ios::end);
    auto size = f.tellg();
    if (size < 0 || uint64_t(size) > limits::config_max_bytes)
        return bad(path, "file is larger than " + std::to_string(limits::config_max_bytes) + " bytes");
    f.seekg(0);
    std::stringstream ss;
    ss << f.rdbuf();
    return parse_model_config(ss.str(), path);
}

} // namespace glmv
