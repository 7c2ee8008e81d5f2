// The tensors of a model folder: one model.safetensors or shards listed by model.safetensors.index.json, all
// memory-mapped. Tensors are looked up by their canonical name (the layout transformers ≥ 4.5x writes:
// model.language_model.*, model.visual.*, lm_head.weight); older exports (model.layers.*, model.embed_tokens.*,
// model.norm.*, visual.*) are accepted through aliases. A folder written by glmv-cli quantize is recognised by its
// shards' metadata (every shard must agree; see glmv/inference/quantize.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "glmv/inference/engine.h"
#include "glmv/inference/safetensors.h"

namespace glmv {

class WeightStore {
  public:
    static Result<WeightStore> open(const std::string& model_dir);

    // Finds a tensor by canonical name (aliases tried); nullptr when absent.
    const TensorView* find(const std::string& canonical) const;

    // Bytes of all tensors in the files.
    uint64_t total_bytes() const { return total_bytes_; }
    size_t   tensor_count() const { return by_name_.size(); }
    std::vector<std::string> names() const;
    // Tells the kernel the mapped pages may be dropped (they are re-read from the file if touched again).
    void release_pages() const;
    // bf16 for an ordinary folder (whatever the dtypes), q8/q4 for one written by glmv-cli quantize.
    WeightFormat stored_format() const { return stored_format_; }
    // The shard files in the order they were opened (file names: fs::path(label()).filename()).
    const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
    bool has_index() const { return has_index_; }

  private:
    std::vector<std::shared_ptr<SafetensorsFile>> files_;
    std::map<std::string, const TensorView*>      by_name_;
    uint64_t                                      total_bytes_   = 0;
    WeightFormat                                  stored_format_ = WeightFormat::bf16;
    bool                                          has_index_     = false;
};

// Collects tensor requirement failures so one error can name every missing or misshaped tensor.
class TensorChecker {
  public:
    explicit TensorChecker(const WeightStore& store) : store_(store) {}

    // Returns the tensor if present with exactly `shape` and a float dtype (bf16/f16/f32); records a problem
    // otherwise and returns nullptr.
    const TensorView* require(const std::string& name, const std::vector<int64_t>& shape);
    // Like require, but absence is fine (returns nullptr without a problem).
    const TensorView* optional(const std::string& name, const std::vector<int64_t>& shape);
    // The stored q8/q4 form of matrix `name` [rows, cols] (quantized_format.h names); records a problem and returns
    // {nullptr, nullptr} when the data or its scale table is missing or has another dtype or shape.
    std::pair<const TensorView*, const TensorView*> require_quantized(const std::string& name, int64_t rows,
                                                                      int64_t cols, WeightFormat format);

    Status status() const;

  private:
    const WeightStore&       store_;
    std::vector<std::string> problems_;
    int                      missing_ = 0;
};

std::string shape_to_string(const std::vector<int64_t>& shape);

} // namespace glmv
