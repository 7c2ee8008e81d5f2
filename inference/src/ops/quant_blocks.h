// How q8/q4 weights lie in memory for the engine: blocks of four rows, each a run of chunks of four groups (128
// weights) holding the four rows' bytes for those groups and then their sixteen scales. A decode product then reads
// one sequential stream per thread, weights and scales together, where the row-major form (rows after rows, the
// scales in a second array) read eight: four rows and four scale rows at once. On the 2-core Zen 5 VM a 27392 x
// 4096 product streamed 34-36 GB/s row-major against 46-51 in blocks (q4, 2 KB-4 KB prefetch) and 34-35 against
// 42-45 (q8), with the same arithmetic (docs/performance.md).
//
// The quantised folders of glmv-cli quantize keep the row-major form (rows of bytes, then a [rows, groups] scale
// tensor: glmv/inference/quantize.h); they are repacked into blocks when loaded.
//
// Chunk c of block b (rows 4b..4b+3, groups 4c..4c+3):
//   row k's bytes for the four groups (q4: 64, q8: 128), rows k = 0..3 one after the other, exactly the bytes the
//   row-major form holds for them; then 16 floats, row k's four scales at 4k..4k+3.
// Rows past the matrix's last (rows not a multiple of 4) and groups past a row's last (groups not a multiple of 4)
// are padding: weights of value 0 and scales 0, so they add nothing to any product.
#pragma once

#include <cstdint>

#include "kernels.h"
#include "ops.h"

namespace glmv::ops {

inline constexpr int64_t kBlockRows   = 4;
inline constexpr int64_t kChunkGroups = 4;

// Bytes of one row of `cols` weights in the row-major form (quantised folders, quantize_rows): q8 one per weight,
// q4 two weights per byte.
constexpr int64_t quant_row_bytes(Quant q, int64_t cols) { return q == Quant::q8 ? cols : cols / 2; }
// Bytes of one row's weights in one chunk, and of a whole chunk (four rows' weights, then their sixteen scales).
constexpr int64_t quant_row_chunk_bytes(Quant q) { return quant_row_bytes(q, kChunkGroups * kQuantGroup); }
constexpr int64_t quant_chunk_scales_offset(Quant q) { return kBlockRows * quant_row_chunk_bytes(q); }
constexpr int64_t quant_chunk_bytes(Quant q) { return quant_chunk_scales_offset(q) + kBlockRows * kChunkGroups * 4; }
// Chunks of a row of `cols` weights (the last one padded to four groups).
constexpr int64_t quant_chunks(int64_t cols) { return (cols / kQuantGroup + kChunkGroups - 1) / kChunkGroups; }

struct QuantBlockShape {
    Quant   quant = Quant::q4;
    int64_t rows = 0, cols = 0;

    int64_t  groups() const { return cols / kQuantGroup; }
    int64_t  chunks() const { return quant_chunks(cols); }
    int64_t  blocks() const { return (rows + kBlockRows - 1) / kBlockRows; }
    int64_t  row_bytes() const { return quant_row_bytes(quant, cols); } // of the row-major form
    int64_t  row_chunk_bytes() const { return quant_row_chunk_bytes(quant); }
    int64_t  chunk_bytes() const { return quant_chunk_bytes(quant); }
    int64_t  block_bytes() const { return chunks() * chunk_bytes(); }
    uint64_t bytes() const { return uint64_t(blocks()) * uint64_t(block_bytes()); }
};

inline QuantBlockShape block_shape(const WeightMatrix& w) {
    return {w.quant, w.rows, w.cols};
}

// Writes block `b` of a matrix from its rows in the row-major form: row r's bytes at data + r * row_bytes, its
// scales at scales + r * groups (r counted from the block's first row; `valid` of the four rows exist).
void pack_quant_block(const QuantBlockShape& s, const uint8_t* data, const float* scales, int64_t valid,
                      uint8_t* block);

// Row r of a block-packed matrix, dequantised into out[cols].
void dequantize_block_row(const QuantBlockShape& s, const uint8_t* blocks, int64_t r, float* out);

} // namespace glmv::ops
