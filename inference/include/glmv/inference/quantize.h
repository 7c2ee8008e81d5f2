// Quantised model folders: written once by `glmv-cli quantize`, then loaded with no quantisation at load: the
// mapped row-major tensors are only repacked into the engine's blocks of four rows (inference/src/ops/
// quant_blocks.h), about as fast as the files can be read.
//
//   glmv::QuantizeParams qp;
//   qp.weights     = glmv::WeightFormat::q4;
//   qp.on_progress = [](const glmv::QuantizeProgress& p) { show(p.done_bytes, p.total_bytes); return !cancelled; };
//   auto r = glmv::quantize_model("/models/GLM-4.1V-9B-Thinking", "/models/GLM-4.1V-9B-Thinking-q4", qp);
//   if (!r) report(r.status().message());
//   auto model = glmv::Model::load("/models/GLM-4.1V-9B-Thinking-q4");   // q4: no quantisation at load
//
// The folder is an ordinary model folder: config.json, the tokenizer and processor files (every file of the source
// except its weights and hidden entries such as .git), and safetensors shards named as in the source (with
// model.safetensors.index.json when the source has one). The shards stay valid safetensors files:
//
//   - every tensor that load-time quantisation leaves alone (vision tower, norms, biases, the embedding table) is
//     copied under its own name with its bytes unchanged;
//   - every matrix it quantises (the decoder's q/k/v/o, gate_up and down projections and the LM head; a tied LM head
//     is written as lm_head.weight.*, next to the untouched embedding table) is replaced by two tensors:
//       <name>.q8        I8  [rows, cols]        one byte per weight
//       <name>.q4        U8  [rows, cols / 2]    per group of 32: byte j = weight j (low nibble) + weight j+16
//                                                (high nibble), each stored as value + 8
//       <name>.q8_scale  F32 [rows, cols / 32]   (or .q4_scale) one scale per group of 32 weights of a row
//     exactly the bytes ops::quantize_matrix puts into its blocks at load, so both paths give bit-identical logits;
//   - each shard's __metadata__ holds glmv_quant ("q8" | "q4"), glmv_quant_group ("32") and glmv_quant_version
//     ("1"); a reader refuses a higher version ("written by a newer glmv-cli").
//   - the data region starts 64-byte aligned and tensors are ordered by alignment, so every scale table is at
//     least 4-byte aligned in the mapping (checked at load) and large tensors start on a cache line.
//
// Loading such a folder: LoadParams::weights = bf16 (the default, "as stored") loads it in its own format; asking
// for its own format does the same; asking for the other quantised format is refused (quantising quantised weights
// again would add error: quantise the original folder instead).
//
// Threading: quantize_model is a long blocking call (parallel inside with OpenMP); on_progress is called from the
// calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "glmv/common/status.h"
#include "glmv/inference/engine.h"
#include "glmv/inference/safetensors.h"

namespace glmv {

// The version of the layout above that this build writes and the newest it reads.
inline constexpr int kQuantizedFormatVersion = 1;

struct QuantizeProgress {
    uint64_t    done_bytes  = 0; // of the output folder written so far
    uint64_t    total_bytes = 0; // of the whole output folder
    std::string item;            // the tensor or file being written
};

struct QuantizeParams {
    WeightFormat weights = WeightFormat::q8; // q8 or q4
    // Replace an output folder that exists and is not empty (never the source folder or one holding it).
    bool force = false;
    // Called about every 32 MiB of source read; return false to cancel (nothing is left behind).
    std::function<bool(const QuantizeProgress&)> on_progress;
};

struct QuantizeResult {
    std::string out_dir;     // absolute
    uint64_t    bytes   = 0; // written, all files
    int         n_files = 0;
};

// Writes the quantised copy of `model_dir` to `out_dir`: checks the source loads, that `out_dir` is absent or empty
// (or `force`), and that the disk has room; writes into a sibling `<out_dir>.tmp-XXXXXX` and renames it into place
// only when every file is complete and synced, so `out_dir` is never half written. On error or cancel the temporary
// folder is removed.
Result<QuantizeResult> quantize_model(const std::string& model_dir, const std::string& out_dir,
                                      const QuantizeParams& params);

// What one safetensors file says about quantisation: bf16 for an ordinary file (no glmv_quant metadata and no
// tensor named like a quantised one), q8/q4 after checking the metadata (format, group, version) and every
// <name>.qN / <name>.qN_scale pair (dtypes, shapes that agree with each other, scale alignment). Shapes against
// config.json are checked when the model binds its tensors.
Result<WeightFormat> quantized_file_format(const SafetensorsFile& file);

} // namespace glmv
