#include "ops/quant_blocks.h"

#include <algorithm>
#include <cstring>

namespace glmv::ops {

void pack_quant_block(const QuantBlockShape& s, const uint8_t* data, const float* scales, int64_t valid,
                      uint8_t* block) {
    const int64_t G = s.groups(), rcb = s.row_chunk_bytes(), group_bytes = rcb / kChunkGroups;
    const int64_t row_bytes = s.row_bytes();
    // A zero weight is byte 0 in q8 and nibbles of 8 (value + 8) in q4.
    const uint8_t zero = s.quant == Quant::q8 ? 0 : 0x88;
    for (int64_t c = 0; c < s.chunks(); ++c) {
        uint8_t*      chunk                         = block + c * s.chunk_bytes();
        float         sc[kBlockRows * kChunkGroups] = {};
        const int64_t g0 = c * kChunkGroups, ng = std::min(kChunkGroups, G - g0);
        for (int64_t k = 0; k < kBlockRows; ++k) {
            uint8_t* dst = chunk + k * rcb;
            if (k >= valid) {
                std::memset(dst, zero, size_t(rcb));
                continue;
            }
            std::memcpy(dst, data + k * row_bytes + g0 * group_bytes, size_t(ng * group_bytes));
            std::memset(dst + ng * group_bytes, zero, size_t((kChunkGroups - ng) * group_bytes));
            std::memcpy(sc + k * kChunkGroups, scales + k * G + g0, size_t(ng) * 4);
        }
        std::memcpy(chunk + kBlockRows * rcb, sc, sizeof sc);
    }
}

void dequantize_block_row(const QuantBlockShape& s, const uint8_t* blocks, int64_t r, float* out) {
    const int64_t  G = s.groups(), rcb = s.row_chunk_bytes(), k = r % kBlockRows;
    const uint8_t* block = blocks + (r / kBlockRows) * s.block_bytes();
    for (int64_t c = 0; c < s.chunks(); ++c) {
        const uint8_t* chunk = block + c * s.chunk_bytes();
        float          sc[kChunkGroups];
        std::memcpy(sc, chunk + kBlockRows * rcb + k * kChunkGroups * 4, sizeof sc); // scales may be unaligned
        const int64_t n = std::min(kChunkGroups, G - c * kChunkGroups) * kQuantGroup;
        float* const  o = out + c * kChunkGroups * kQuantGroup;
        if (s.quant == Quant::q8)
            dequantize_row_q8(reinterpret_cast<const int8_t*>(chunk + k * rcb), sc, n, o);
        else
            dequantize_row_q4(chunk + k * rcb, sc, n, o);
    }
}

} // namespace glmv::ops
