// Names and metadata of quantised folders, and the per-file validator (quantized_file_format): everything in a
// quantised shard is checked before a kernel reads it, because a scale table that does not match its data would
// make the kernels read outside the mapping.
#include "model/quantized_format.h"

#include <cstdint>

#include "glmv/inference/quantize.h"
#include "model/weight_store.h"
#include "ops/kernels.h"

namespace glmv {

const char* weight_format_name(WeightFormat f) {
    switch (f) {
    case WeightFormat::q8:
        return "q8";
    case WeightFormat::q4:
        return "q4";
    case WeightFormat::bf16:
        break;
    }
    return "bf16";
}

WeightFormat weight_format_named(std::string_view name) {
    return name == "q8" ? WeightFormat::q8 : name == "q4" ? WeightFormat::q4 : WeightFormat::bf16;
}

} // namespace glmv

namespace glmv::quantized {

ops::Quant to_quant(WeightFormat f) {
    return f == WeightFormat::q8 ? ops::Quant::q8 : f == WeightFormat::q4 ? ops::Quant::q4 : ops::Quant::none;
}

std::string data_name(const std::string& base, WeightFormat f) {
    return base + "." + weight_format_name(f);
}
std::string scale_name(const std::string& base, WeightFormat f) {
    return base + "." + weight_format_name(f) + "_scale";
}
DType data_dtype(WeightFormat f) {
    return f == WeightFormat::q8 ? DType::i8 : DType::u8;
}
int64_t data_cols(int64_t cols, WeightFormat f) {
    return f == WeightFormat::q4 ? cols / 2 : cols;
}

std::map<std::string, std::string> shard_metadata(WeightFormat f) {
    return {{kKeyFormat, weight_format_name(f)},
            {kKeyGroup, std::to_string(ops::kQuantGroup)},
            {kKeyVersion, std::to_string(kQuantizedFormatVersion)}};
}

namespace {

// Splits "<base>.q8", "<base>.q4_scale", ... ; false for any other name.
bool split_name(const std::string& name, std::string* base, WeightFormat* f, bool* is_scale) {
    for (WeightFormat q : {WeightFormat::q8, WeightFormat::q4})
        for (bool scale : {false, true}) {
            const std::string suffix = std::string(".") + weight_format_name(q) + (scale ? "_scale" : "");
            if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
                *base     = name.substr(0, name.size() - suffix.size());
                *f        = q;
                *is_scale = scale;
                return true;
            }
        }
    return false;
}

// A decimal version of at most 9 digits; -1 otherwise.
int parse_version(const std::string& s) {
    if (s.empty() || s.size() > 9) return -1;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

} // namespace

} // namespace glmv::quantized

namespace glmv {

using namespace quantized;

Result<WeightFormat> quantized_file_format(const SafetensorsFile& file) {
    const std::string rerun = "; re-run glmv-cli quantize on the original model";
    auto         fail = [&](ErrorCode code, const std::string& msg) { return Status(code, file.label() + ": " + msg); };
    const auto&  md   = file.metadata();
    auto         fmt_key = md.find(kKeyFormat);
    std::string  base;
    WeightFormat f;
    bool         is_scale = false;
    if (fmt_key == md.end()) {
        for (const TensorView& t : file.tensors())
            if (split_name(t.name, &base, &f, &is_scale))
                return fail(ErrorCode::bad_format,
                            "tensor '" + t.name + "' is named like a quantised tensor but the file has no glmv_quant "
                            "metadata: it was changed after glmv-cli quantize wrote it" + rerun);
        return WeightFormat::bf16;
    }
    // The version first: a newer writer may have changed anything else.
    auto ver_key = md.find(kKeyVersion);
    if (ver_key == md.end())
        return fail(ErrorCode::bad_format,
                    "has glmv_quant metadata but no glmv_quant_version: the file is damaged" + rerun);
    const int version = parse_version(ver_key->second);
    if (version < 1)
        return fail(ErrorCode::bad_format,
                    "glmv_quant_version '" + ver_key->second + "' is not a version: the file is damaged" + rerun);
    if (version > kQuantizedFormatVersion)
        return fail(ErrorCode::unsupported, "written by a newer glmv-cli (quantised format version " + ver_key->second +
                                                "; this build reads version " +
                                                std::to_string(kQuantizedFormatVersion) +
                                                "): update GLM-V Desktop, or re-run glmv-cli quantize with this build "
                                                "on the original model");
    WeightFormat fmt;
    if (fmt_key->second == "q8")
        fmt = WeightFormat::q8;
    else if (fmt_key->second == "q4")
        fmt = WeightFormat::q4;
    else
        return fail(ErrorCode::unsupported,
                    "unknown quantised format '" + fmt_key->second + "' (this build reads q8 and q4)" + rerun);
    auto group_key = md.find(kKeyGroup);
    if (group_key == md.end() || group_key->second != std::to_string(ops::kQuantGroup))
        return fail(ErrorCode::unsupported, "quantisation group '" + (group_key == md.end() ? "" : group_key->second) +
                                                "' is not the " + std::to_string(ops::kQuantGroup) +
                                                " this build uses" + rerun);

    for (const TensorView& t : file.tensors()) {
        if (!split_name(t.name, &base, &f, &is_scale)) continue;
        auto tfail = [&](const std::string& msg) {
            return fail(ErrorCode::bad_format, "tensor '" + t.name + "' " + msg + rerun);
        };
        if (f != fmt)
            return tfail(std::string("is ") + weight_format_name(f) + " data in a " + weight_format_name(fmt) +
                         " file");
        if (is_scale) {
            if (!file.find(data_name(base, fmt)))
                return tfail("is a scale table without its data '" + data_name(base, fmt) + "'");
            continue; // checked with its data below
        }
        if (t.dtype != data_dtype(fmt))
            return tfail(std::string("has dtype ") + dtype_name(t.dtype) + "; " + weight_format_name(fmt) +
                         " data is " + dtype_name(data_dtype(fmt)));
        if (t.shape.size() != 2)
            return tfail("has shape " + shape_to_string(t.shape) + "; quantised data is [rows, columns]");
        const int64_t rows = t.shape[0], cols = fmt == WeightFormat::q4 ? 2 * t.shape[1] : t.shape[1];
        if (cols % ops::kQuantGroup != 0)
            return tfail("holds rows of " + std::to_string(cols) + " weights, not whole groups of " +
                         std::to_string(ops::kQuantGroup));
        const TensorView* s = file.find(scale_name(base, fmt));
        if (!s) return tfail("has no scale table '" + scale_name(base, fmt) + "'");
        const std::vector<int64_t> want = {rows, cols / ops::kQuantGroup};
        if (s->dtype != DType::f32 || s->shape != want)
            return fail(ErrorCode::bad_format, "scale table '" + s->name + "' is " + dtype_name(s->dtype) + " " +
                                                   shape_to_string(s->shape) + "; its data needs F32 " +
                                                   shape_to_string(want) + rerun);
        if (reinterpret_cast<uintptr_t>(s->data) % alignof(float) != 0)
            return fail(ErrorCode::bad_format, "scale table '" + s->name +
                                                   "' is not 4-byte aligned, so glmv-cli "
                                                   "quantize did not write this file" +
                                                   rerun);
    }
    return fmt;
}

} // namespace glmv
