#include "model/weight_store.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "glmv/inference/limits.h"
#include "glmv/inference/quantize.h"
#include "model/quantized_format.h"
#include "ops/kernels.h"

namespace glmv {

namespace fs = std::filesystem;
using json   = nlohmann::json;

std::string shape_to_string(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    return s + "]";
}

namespace {

// Canonical name → names other exports use for the same tensor.
std::vector<std::string> aliases(const std::string& canonical) {
    std::vector<std::string> out{canonical};
    const std::string lm = "model.language_model.", vis = "model.visual.";
    if (canonical.rfind(lm, 0) == 0) out.push_back("model." + canonical.substr(lm.size()));
    if (canonical.rfind(vis, 0) == 0) out.push_back("visual." + canonical.substr(vis.size()));
    return out;
}

bool safe_relative_name(const std::string& f) {
    if (f.empty() || f[0] == '/' || f.find("..") != std::string::npos || f.find('\\') != std::string::npos) return false;
    return true;
}

} // namespace

Result<WeightStore> WeightStore::open(const std::string& dir) {
    WeightStore   store;
    const fs::path index_path  = fs::path(dir) / "model.safetensors.index.json";
    const fs::path single_path = fs::path(dir) / "model.safetensors";
    std::vector<std::string>           shard_files;
    std::map<std::string, std::string> weight_map; // tensor → shard (only for sharded)
    std::error_code                    ec;
    if (fs::exists(index_path, ec)) {
        std::ifstream f(index_path);
        std::stringstream ss;
        ss << f.rdbuf();
        json j;
        try {
            j = json::parse(ss.str());
        } catch (const std::exception& e) {
            return Status(ErrorCode::bad_format, index_path.string() + ": not valid JSON (" + e.what() + ")");
        }
        if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
            return Status(ErrorCode::bad_format, index_path.string() + ": missing \"weight_map\" object");
        std::set<std::string> shards;
        for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
            if (!it.value().is_string())
                return Status(ErrorCode::bad_format, index_path.string() + ": shard of '" + it.key() + "' is not a string");
            std::string shard = it.value().get<std::string>();
            if (!safe_relative_name(shard))
                return Status(ErrorCode::bad_format,
                              index_path.string() + ": shard name '" + shard + "' is not a plain file name in the folder");
            weight_map[it.key()] = shard;
            shards.insert(shard);
        }
        if (shards.size() > size_t(limits::sharded_index_max_shards))
            return Status(ErrorCode::bad_format, index_path.string() + ": too many shards");
        shard_files.assign(shards.begin(), shards.end());
        store.has_index_ = true;
    } else if (fs::exists(single_path, ec)) {
        shard_files.push_back("model.safetensors");
    } else {
        return Status(ErrorCode::not_found, "'" + dir +
                                                "' has neither model.safetensors nor model.safetensors.index.json: "
                                                "choose the folder of a downloaded GLM-4.1V model");
    }
    std::map<std::string, std::string> actual_owner;
    std::string                        first_shard;
    for (const std::string& shard : shard_files) {
        auto f = SafetensorsFile::open((fs::path(dir) / shard).string());
        if (!f) return f.status();
        auto file   = std::make_shared<SafetensorsFile>(std::move(f.value()));
        auto format = quantized_file_format(*file);
        if (!format) return format.status();
        if (first_shard.empty()) {
            first_shard          = shard;
            store.stored_format_ = format.value();
        } else if (format.value() != store.stored_format_) {
            // Shards from two glmv-cli quantize runs (or a source shard left among quantised ones).
            return Status(ErrorCode::bad_format,
                          "'" + shard + "' holds " + weight_format_name(format.value()) + " weights but '" +
                              first_shard + "' holds " + weight_format_name(store.stored_format_) + " in '" + dir +
                              "': the folder mixes files of different formats; re-run glmv-cli quantize on the "
                              "original model");
        }
        for (const TensorView& t : file->tensors()) {
            if (store.by_name_.count(t.name))
                return Status(ErrorCode::bad_format, "tensor '" + t.name + "' appears in both '" + actual_owner[t.name] +
                                                         "' and '" + shard + "'");
            if (!weight_map.empty()) {
                auto it = weight_map.find(t.name);
                if (it != weight_map.end() && it->second != shard)
                    return Status(ErrorCode::bad_format, "tensor '" + t.name + "' is in '" + shard +
                                                             "' but the index says '" + it->second + "'");
            }
            store.by_name_[t.name] = &t;
            actual_owner[t.name]   = shard;
            store.total_bytes_ += t.nbytes;
        }
        store.files_.push_back(std::move(file));
    }
    for (auto& [name, shard] : weight_map)
        if (!store.by_name_.count(name))
            return Status(ErrorCode::bad_format, "the index lists tensor '" + name + "' in '" + shard +
                                                     "' but that shard does not contain it (incomplete download?)");
    return store;
}

void WeightStore::release_pages() const {
    for (const auto& f : files_) f->release_pages();
}

const TensorView* WeightStore::find(const std::string& canonical) const {
    for (const std::string& n : aliases(canonical)) {
        auto it = by_name_.find(n);
        if (it != by_name_.end()) return it->second;
    }
    return nullptr;
}

std::vector<std::string> WeightStore::names() const {
    std::vector<std::string> r;
    for (auto& [n, t] : by_name_) r.push_back(n);
    return r;
}

const TensorView* TensorChecker::optional(const std::string& name, const std::vector<int64_t>& shape) {
    if (!store_.find(name)) return nullptr;
    return require(name, shape);
}

const TensorView* TensorChecker::require(const std::string& name, const std::vector<int64_t>& shape) {
    const TensorView* t = store_.find(name);
    if (!t) {
        ++missing_;
        problems_.push_back("missing tensor '" + name + "' (expected shape " + shape_to_string(shape) + ")");
        return nullptr;
    }
    if (t->shape != shape) {
        problems_.push_back("tensor '" + name + "' has shape " + shape_to_string(t->shape) + ", expected " +
                            shape_to_string(shape));
        return nullptr;
    }
    if (t->dtype != DType::bf16 && t->dtype != DType::f16 && t->dtype != DType::f32) {
        problems_.push_back("tensor '" + name + "' has dtype " + dtype_name(t->dtype) + "; expected BF16, F16 or F32");
        return nullptr;
    }
    return t;
}

std::pair<const TensorView*, const TensorView*> TensorChecker::require_quantized(const std::string& name, int64_t rows,
                                                                                 int64_t cols, WeightFormat format) {
    const std::string          dn = quantized::data_name(name, format), sn = quantized::scale_name(name, format);
    const std::vector<int64_t> dshape = {rows, quantized::data_cols(cols, format)};
    const std::vector<int64_t> sshape = {rows, cols / ops::kQuantGroup};
    const TensorView*          d = store_.find(dn);
    const TensorView*          s = store_.find(sn);
    const DType                dt = quantized::data_dtype(format);
    bool                       ok = true;
    for (auto [t, tn, shape, dtype] : {std::tuple{d, dn, dshape, dt}, std::tuple{s, sn, sshape, DType::f32}}) {
        if (!t) {
            ++missing_;
            problems_.push_back("missing tensor '" + tn + "' (expected " + dtype_name(dtype) + " " +
                                shape_to_string(shape) + ")");
            ok = false;
        } else if (t->shape != shape || t->dtype != dtype) {
            problems_.push_back("tensor '" + tn + "' is " + dtype_name(t->dtype) + " " + shape_to_string(t->shape) +
                                ", expected " + dtype_name(dtype) + " " + shape_to_string(shape));
            ok = false;
        }
    }
    if (!ok) return {nullptr, nullptr};
    return {d, s};
}

Status TensorChecker::status() const {
    if (problems_.empty()) return {};
    std::string msg = std::to_string(problems_.size()) + " tensor problem(s): ";
    for (size_t i = 0; i < problems_.size() && i < 6; ++i) msg += (i ? "; " : "") + problems_[i];
    if (problems_.size() > 6) msg += "; …";
    msg += ". The weights do not match config.json: is this a complete GLM-4.1V checkpoint?";
    return Status(missing_ ? ErrorCode::not_found : ErrorCode::bad_format, msg);
}

} // namespace glmv
