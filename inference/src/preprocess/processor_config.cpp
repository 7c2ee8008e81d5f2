// preprocessor_config.json / video_preprocessor_config.json → ImageProcessorConfig.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "glmv/inference/preprocess.h"

namespace glmv {

namespace {

constexpr uint64_t processor_config_max_bytes = 1u << 20;

using json = nlohmann::json;

// Reads an optional number at `key`; a present non-number, or a value outside [lo, hi], is an error.
Status read_number(const json& obj, const char* key, double lo, double hi, double* out) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return {};
    if (!it->is_number())
        return make_error(ErrorCode::bad_format, std::string("'") + key + "' must be a number");
    double v = it->get<double>();
    if (!(v >= lo && v <= hi))
        return make_error(ErrorCode::out_of_range, std::string("'") + key + "' = " + std::to_string(v) +
                                                       " is outside [" + std::to_string(lo) + ", " +
                                                       std::to_string(hi) + "]");
    *out = v;
    return {};
}

Status read_int(const json& obj, const char* key, int64_t lo, int64_t hi, int64_t* out) {
    double v = double(*out);
    GLMV_RETURN_IF_ERROR(read_number(obj, key, double(lo), double(hi), &v));
    if (v != double(int64_t(v))) return make_error(ErrorCode::bad_format, std::string("'") + key + "' must be an integer");
    *out = int64_t(v);
    return {};
}

Status read_bool(const json& obj, const char* key, bool* out) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return {};
    if (!it->is_boolean()) return make_error(ErrorCode::bad_format, std::string("'") + key + "' must be true/false");
    *out = it->get<bool>();
    return {};
}

Status read_triple(const json& obj, const char* key, bool positive, std::array<double, 3>* out) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return {};
    if (!it->is_array() || it->size() != 3)
        return make_error(ErrorCode::bad_format, std::string("'") + key + "' must be an array of 3 numbers");
    for (size_t i = 0; i < 3; ++i) {
        const json& v = (*it)[i];
        if (!v.is_number())
            return make_error(ErrorCode::bad_format, std::string("'") + key + "' must be an array of 3 numbers");
        double x = v.get<double>();
        if (positive ? !(x > 0 && x < 1e6) : !(x > -1e6 && x < 1e6))
            return make_error(ErrorCode::out_of_range, std::string("'") + key + "' has an unusable value");
        (*out)[i] = x;
    }
    return {};
}

Result<std::string> read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return make_error(ErrorCode::not_found, path + ": cannot open");
    f.seekg(0, std::ios::end);
    std::streamoff size = f.tellg();
    if (size < 0) return make_error(ErrorCode::io_error, path + ": cannot read");
    if (uint64_t(size) > processor_config_max_bytes)
        return make_error(ErrorCode::out_of_range, path + ": larger than 1 MiB, not a processor config");
    f.seekg(0);
    std::string text(size_t(size), '\0');
    f.read(text.data(), size);
    if (!f) return make_error(ErrorCode::io_error, path + ": read failed");
    return text;
}

} // namespace

Result<ImageProcessorConfig> parse_processor_config(const std::string& json_text, bool video) {
    json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return make_error(ErrorCode::bad_format, "not a JSON object");
    ImageProcessorConfig cfg;
    if (video) cfg.max_pixels = 47040000;
    constexpr int64_t max_budget = int64_t(1) << 40;
    // Newer configs: size = {shortest_edge: min pixels, longest_edge: max pixels}; older: min_pixels/max_pixels.
    GLMV_RETURN_IF_ERROR(read_int(j, "min_pixels", 1, max_budget, &cfg.min_pixels));
    GLMV_RETURN_IF_ERROR(read_int(j, "max_pixels", 1, max_budget, &cfg.max_pixels));
    if (auto it = j.find("size"); it != j.end() && !it->is_null()) {
        if (!it->is_object()) return make_error(ErrorCode::bad_format, "'size' must be an object");
        GLMV_RETURN_IF_ERROR(read_int(*it, "shortest_edge", 1, max_budget, &cfg.min_pixels));
        GLMV_RETURN_IF_ERROR(read_int(*it, "longest_edge", 1, max_budget, &cfg.max_pixels));
    }
    if (cfg.min_pixels > cfg.max_pixels)
        return make_error(ErrorCode::out_of_range, "min pixels " + std::to_string(cfg.min_pixels) +
                                                       " exceed max pixels " + std::to_string(cfg.max_pixels));
    int64_t ps = cfg.patch_size, ms = cfg.merge_size, tp = cfg.temporal_patch_size;
    GLMV_RETURN_IF_ERROR(read_int(j, "patch_size", 1, 1024, &ps));
    GLMV_RETURN_IF_ERROR(read_int(j, "merge_size", 1, 64, &ms));
    GLMV_RETURN_IF_ERROR(read_int(j, "temporal_patch_size", 1, 64, &tp));
    cfg.patch_size          = int(ps);
    cfg.merge_size          = int(ms);
    cfg.temporal_patch_size = int(tp);
    GLMV_RETURN_IF_ERROR(read_number(j, "rescale_factor", 1e-12, 1e6, &cfg.rescale_factor));
    GLMV_RETURN_IF_ERROR(read_bool(j, "do_rescale", &cfg.do_rescale));
    GLMV_RETURN_IF_ERROR(read_bool(j, "do_normalize", &cfg.do_normalize));
    GLMV_RETURN_IF_ERROR(read_bool(j, "do_resize", &cfg.do_resize));
    GLMV_RETURN_IF_ERROR(read_triple(j, "image_mean", false, &cfg.image_mean));
    GLMV_RETURN_IF_ERROR(read_triple(j, "image_std", true, &cfg.image_std));
    GLMV_RETURN_IF_ERROR(read_number(j, "fps", 1e-3, 1000, &cfg.fps));
    GLMV_RETURN_IF_ERROR(read_number(j, "max_duration", 1e-3, 1e7, &cfg.max_duration_s));
    return cfg;
}

Result<ImageProcessorConfig> load_image_processor_config(const std::string& path) {
    auto text = read_text(path);
    if (!text) return text.status();
    auto cfg = parse_processor_config(*text, false);
    if (!cfg) return cfg.status().with_context(path);
    return cfg;
}

Result<ImageProcessorConfig> load_video_processor_config(const std::string& path) {
    auto text = read_text(path);
    if (!text) return text.status();
    auto cfg = parse_processor_config(*text, true);
    if (!cfg) return cfg.status().with_context(path);
    return cfg;
}

} // namespace glmv
