#include "vision/vision_tower.h"

#include <algorithm>
#include <cmath>

#include "ops/ops.h"

namespace glmv {

namespace {

// Rows per chunk when `total` rows go in chunks of at most `most`, all of about the same size (5184 rows in chunks of
// at most 4096 as 2 × 2592, not 4096 + 1088: a short last product runs well below GEMM speed).
int64_t even_chunk(int64_t total, int64_t most) {
    const int64_t chunks = (total + most - 1) / most;
    return (total + chunks - 1) / chunks;
}

// Cubic convolution weights of PyTorch's bicubic grid_sample (A = -0.75).
inline void cubic_weights(float t, float w[4]) {
    const float A  = -0.75f;
    auto        c1 = [&](float x) { return ((A + 2) * x - (A + 3)) * x * x + 1; };
    auto        c2 = [&](float x) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; };
    w[0]           = c2(t + 1);
    w[1]           = c1(t);
    w[2]           = c1(1 - t);
    w[3]           = c2(2 - t);
}

// Adds the learned G×G position table, resampled bicubically at each patch's normalised (h, w), to x [n, H].
// grid_sample semantics: align_corners = false, border padding (each tap clamped into the table).
void add_position_embedding(const std::vector<float>& table, int64_t G, int64_t H, const GridTHW& grid,
                            const std::vector<int64_t>& ph, const std::vector<int64_t>& pw, float* x) {
    const int64_t n = grid.h * grid.w;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; ++r) {
        // Same float arithmetic order as the reference: normalise, then unnormalise.
        const float nx = ((float(pw[r]) + 0.5f) / float(grid.w)) * 2.f - 1.f;
        const float ny = ((float(ph[r]) + 0.5f) / float(grid.h)) * 2.f - 1.f;
        const float ix = ((nx + 1.f) * float(G) - 1.f) / 2.f;
        const float iy = ((ny + 1.f) * float(G) - 1.f) / 2.f;
        const float fx = std::floor(ix), fy = std::floor(iy);
        float       wx[4], wy[4];
        cubic_weights(ix - fx, wx);
        cubic_weights(iy - fy, wy);
        int64_t cx[4], cy[4];
        for (int k = 0; k < 4; ++k) {
            cx[k] = std::clamp<int64_t>(int64_t(fx) - 1 + k, 0, G - 1);
            cy[k] = std::clamp<int64_t>(int64_t(fy) - 1 + k, 0, G - 1);
        }
        float* xr = x + r * H;
        for (int64_t c = 0; c < H; ++c) {
            float v = 0.f;
            for (int a = 0; a < 4; ++a) {
                const float* row = table.data() + cy[a] * G * H;
                float        rv  = 0.f;
                for (int b = 0; b < 4; ++b) rv += wx[b] * row[cx[b] * H + c];
                v += wy[a] * rv;
            }
            xr[c] += v;
        }
    }
}

// 2D rotary on one head vector of length hd: angle for dim i is θ[i mod hd/2], θ = (h·f_0..f_{q-1}, w·f_0..f_{q-1})
// with q = hd/4 frequencies; half-split rotation out = x·cos + rotate_half(x)·sin.
void rotate_vision(float* v, int64_t hd, const float* cos_t, const float* sin_t) {
    const int64_t half = hd / 2;
    for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i]          = a * cos_t[i] - b * sin_t[i];
        v[i + half]   = b * cos_t[i + half] + a * sin_t[i + half];
    }
}

// Runs one group of sequences through the tower and appends their merged embeddings to *out.
Status encode_group(const Model::Impl& model, const float* pixels, const std::vector<GridTHW>& grids,
                    std::vector<float>* out, const ActivationTap* tap, const std::atomic<bool>* cancel) {
    const VisionConfig&  vc = model.config.vision;
    const VisionWeights& w  = model.vision;
    const int64_t H = vc.hidden_size, O = vc.out_hidden_size, I = vc.intermediate, nh = vc.n_head, hd = vc.head_dim;
    const int64_t P = vc.patch_dim(), G = vc.pos_grid();

    int64_t                 N = 0;
    std::vector<int64_t>    seq_start;
    for (const GridTHW& g : grids) {
        seq_start.push_back(N);
        N += g.h * g.w;
    }
    auto emit = [&](const char* name, const float* d, int64_t rows, int64_t cols) {
        if (tap && *tap) (*tap)(name, d, rows, cols);
    };

    // Patch coordinates in processor order: 2×2 blocks contiguous.
    std::vector<int64_t> ph(static_cast<size_t>(N)), pw(static_cast<size_t>(N));
    for (size_t s = 0; s < grids.size(); ++s) {
        const GridTHW& g = grids[s];
        int64_t        r = seq_start[s];
        for (int64_t by = 0; by < g.h / 2; ++by)
            for (int64_t bx = 0; bx < g.w / 2; ++bx)
                for (int64_t iy = 0; iy < 2; ++iy)
                    for (int64_t ix = 0; ix < 2; ++ix, ++r) {
                        ph[size_t(r)] = by * 2 + iy;
                        pw[size_t(r)] = bx * 2 + ix;
                    }
    }

    // The tower's activation buffers are ops::OwnedFloats: every element is written (by a product, a norm or a
    // parallel loop) before it is read, so this thread does not zero-fill them alone first (about 520 MB for a
    // 1-megapixel image at the 9B's widths, page-faulted in serial while the other threads waited).
    // 1-3. Patch embedding (Conv3d as a linear map), post-conv RMSNorm, interpolated positions.  x: [N, H]
    ops::OwnedFloats x(size_t(N * H));
    ops::linear(pixels, N, w.patch_embed, w.patch_embed_bias.data(), x.data());
    emit("vision.patch_embed", x.data(), N, H);
    ops::rms_norm(x.data(), N, H, w.post_conv_norm.data(), vc.rms_norm_eps, x.data());
    emit("vision.post_conv_layernorm", x.data(), N, H);
    for (size_t s = 0; s < grids.size(); ++s) {
        std::vector<int64_t> sh(ph.begin() + seq_start[s], ph.begin() + seq_start[s] + grids[s].h * grids[s].w);
        std::vector<int64_t> sw(pw.begin() + seq_start[s], pw.begin() + seq_start[s] + grids[s].h * grids[s].w);
        add_position_embedding(w.pos_table, G, H, grids[s], sh, sw, x.data() + seq_start[s] * H);
    }
    emit("vision.embeddings", x.data(), N, H);

    // Rotary tables per patch: [N, hd] cos and sin (about 1.3 M sines and cosines for a 1-megapixel image, so
    // across the threads).
    const int64_t      q = hd / 4;
    std::vector<float> inv_freq(static_cast<size_t>(q));
    for (int64_t j = 0; j < q; ++j)
        inv_freq[size_t(j)] = 1.f / std::pow(float(vc.rope_theta), float(2 * j) / float(hd / 2));
    ops::OwnedFloats cos_t(size_t(N * hd)), sin_t(size_t(N * hd));
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < N; ++r) {
        for (int64_t j = 0; j < q; ++j) {
            const float th = float(ph[size_t(r)]) * inv_freq[size_t(j)],
                        tw = float(pw[size_t(r)]) * inv_freq[size_t(j)];
            const float ch = std::cos(th), sh = std::sin(th), cw = std::cos(tw), sw = std::sin(tw);
            for (int64_t rep = 0; rep < 2; ++rep) { // emb = cat(θ, θ)
                cos_t[size_t(r * hd + rep * 2 * q + j)]     = ch;
                sin_t[size_t(r * hd + rep * 2 * q + j)]     = sh;
                cos_t[size_t(r * hd + rep * 2 * q + q + j)] = cw;
                sin_t[size_t(r * hd + rep * 2 * q + q + j)] = sw;
            }
        }
    }

    // 4. Transformer blocks. MLP in even row chunks of at most 4096 so the [rows, O] intermediates stay bounded.
    ops::OwnedFloats h(size_t(N * H)), qkv(size_t(N * 3 * H)), attn(size_t(N * H));
    const int64_t    chunk = even_chunk(N, 4096);
    ops::OwnedFloats g(size_t(chunk * O)), u(size_t(chunk * O)), d(size_t(chunk * H));
    for (int64_t bi = 0; bi < vc.depth; ++bi) {
        if (cancel && cancel->load(std::memory_order_relaxed)) return Status(ErrorCode::cancelled, "cancelled");
        const VisionBlockWeights& b = w.blocks[size_t(bi)];
        ops::rms_norm(x.data(), N, H, b.norm1.data(), vc.rms_norm_eps, h.data());
        ops::linear(h.data(), N, b.qkv, b.qkv_bias.empty() ? nullptr : b.qkv_bias.data(), qkv.data());
        // qkv row = [q (nh·hd) | k | v]; rotate q and k per head.
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < N; ++r)
            for (int64_t hh = 0; hh < nh; ++hh) {
                rotate_vision(qkv.data() + r * 3 * H + hh * hd, hd, cos_t.data() + r * hd, sin_t.data() + r * hd);
                rotate_vision(qkv.data() + r * 3 * H + H + hh * hd, hd, cos_t.data() + r * hd, sin_t.data() + r * hd);
            }
        for (size_t s = 0; s < grids.size(); ++s) {
            const int64_t       n0 = seq_start[s], n = grids[s].h * grids[s].w;
            ops::AttentionShape as;
            as.n_q = as.n_k = n;
            as.n_head = as.n_head_kv = nh;
            as.head_dim              = hd;
            as.q_stride = as.k_stride = as.v_stride = 3 * H;
            as.out_stride                           = H;
            as.bf16_products                        = b.qkv.bf16_products;
            const float* base                       = qkv.data() + n0 * 3 * H;
            ops::attention(base, base + H, base + 2 * H, attn.data() + n0 * H, as);
        }
        ops::linear(attn.data(), N, b.proj, b.proj_bias.empty() ? nullptr : b.proj_bias.data(), h.data());
        ops::add_inplace(x.data(), h.data(), N * H);
        ops::rms_norm(x.data(), N, H, b.norm2.data(), vc.rms_norm_eps, h.data());
        for (int64_t r0 = 0; r0 < N; r0 += chunk) {
            const int64_t m = std::min(chunk, N - r0);
            ops::linear(h.data() + r0 * H, m, b.gate, nullptr, g.data());
            ops::linear(h.data() + r0 * H, m, b.up, nullptr, u.data());
            ops::silu_mul(g.data(), u.data(), m * O, g.data());
            ops::linear(g.data(), m, b.down, nullptr, d.data());
            float* xr = x.data() + r0 * H;
            ops::add_inplace(xr, d.data(), m * H);
        }
        emit(("vision.blocks." + std::to_string(bi)).c_str(), x.data(), N, H);
    }

    // 5. Post norm; 6. 2×2 downsample conv: group 4 consecutive rows into a (c, ky, kx) vector.  [N/4, 4H] → [N/4, O]
    ops::rms_norm(x.data(), N, H, w.post_norm.data(), vc.rms_norm_eps, x.data());
    emit("vision.post_layernorm", x.data(), N, H);
    const int64_t M = N / 4;
    ops::OwnedFloats grouped(size_t(M * 4 * H));
#pragma omp parallel for schedule(static)
    for (int64_t m = 0; m < M; ++m)
        for (int64_t k = 0; k < 4; ++k)
            for (int64_t c = 0; c < H; ++c) grouped[size_t(m * 4 * H + c * 4 + k)] = x[size_t((m * 4 + k) * H + c)];
    ops::OwnedFloats y(size_t(M * O));
    ops::linear(grouped.data(), M, w.downsample, w.downsample_bias.data(), y.data());
    emit("vision.downsample", y.data(), M, O);

    // 7. Merger: proj → LayerNorm → GELU → SiLU-gated MLP, in row chunks (its [rows, I] intermediates are the
    // largest buffers of the tower: I is the text model's MLP width).
    ops::OwnedFloats z(size_t(M * O));
    ops::linear(y.data(), M, w.merger_proj, nullptr, z.data());
    ops::layer_norm(z.data(), M, O, w.merger_ln_w.data(), w.merger_ln_b.data(), 1e-5, z.data());
    ops::gelu_erf_inplace(z.data(), M * O);
    const size_t       out0    = out->size();
    const int64_t      m_chunk = even_chunk(M, 1024);
    ops::OwnedFloats   mg(size_t(m_chunk * I)), mu(size_t(m_chunk * I));
    out->resize(out0 + size_t(M * O));
    for (int64_t r0 = 0; r0 < M; r0 += m_chunk) {
        const int64_t m = std::min(m_chunk, M - r0);
        ops::linear(z.data() + r0 * O, m, w.merger_gate, nullptr, mg.data());
        ops::linear(z.data() + r0 * O, m, w.merger_up, nullptr, mu.data());
        ops::silu_mul(mg.data(), mu.data(), m * I, mg.data());
        ops::linear(mg.data(), m, w.merger_down, nullptr, out->data() + out0 + size_t(r0 * O));
    }
    emit("vision.merger", out->data() + out0, M, O);
    (void)P;
    return {};
}

} // namespace

Status encode_vision(const Model::Impl& model, const float* pixels, const std::vector<GridTHW>& grids,
                     int64_t group_patches, std::vector<float>* out, const ActivationTap* tap,
                     const std::atomic<bool>* cancel) {
    for (const GridTHW& g : grids)
        if (g.t != 1 || g.h <= 0 || g.w <= 0 || g.h % 2 || g.w % 2)
            return Status(ErrorCode::invalid_argument, "vision grids must be (1, even h, even w)");
    out->clear();
    // Sequences attend only within themselves, so groups of them can run through the tower one after another with
    // the same result; that bounds the activations (a 32-frame 720p video is 76,544 patches: all at once they
    // would need several GB at the 9B's widths). A group holds whole sequences up to group_patches patches (a
    // larger single image is a group of its own); products of thousands of rows still run at GEMM speed. With an
    // activation tap (the parity tests) everything runs as one group, so each tapped tensor is whole.
    const int64_t     P             = model.config.vision.patch_dim();
    size_t            first         = 0;
    int64_t           row           = 0;
    while (first < grids.size()) {
        size_t  last    = first;
        int64_t patches = 0;
        while (last < grids.size() &&
               (last == first || (tap && *tap) || patches + grids[last].h * grids[last].w <= group_patches)) {
            patches += grids[last].h * grids[last].w;
            ++last;
        }
        const std::vector<GridTHW> group(grids.begin() + long(first), grids.begin() + long(last));
        GLMV_RETURN_IF_ERROR(encode_group(model, pixels + row * P, group, out, tap, cancel));
        row += patches;
        first = last;
    }
    return {};
}

} // namespace glmv
