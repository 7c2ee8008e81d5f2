// Session: the GLM-4 text decoder with a KV cache, media embedding substitution, prefix reuse across turns and
// the generation loop. Spec §6–§7.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <list>
#include <map>
#include <omp.h>

#include "glmv/inference/engine.h"
#include "glmv/inference/limits.h"
#include "model/model_impl.h"
#include "ops/ops.h"
#include "sampling/sampler.h"
#include "text/decode_phases.h"
#include "text/rope_index.h"
#include "vision/vision_tower.h"

namespace glmv {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Fast 64-bit content hash (multiply–xorshift over 8-byte words) for media cache keys.
uint64_t hash_bytes(const void* data, size_t n, uint64_t seed) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    uint64_t       h = seed ^ (n * 0x9E3779B97F4A7C15ull);
    size_t         i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        h ^= w * 0xC2B2AE3D27D4EB4Full;
        h = (h << 31 | h >> 33) * 0x9E3779B97F4A7C15ull;
    }
    for (; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
}

constexpr uint64_t kMediaSigBit = 1ull << 63;

} // namespace

struct Session::Impl {
    std::shared_ptr<const Model> model_ref;
    const Model::Impl&           m;
    // KV cache, per layer, token-major: [n_cached, n_head_kv · head_dim].
    std::vector<std::vector<float>> k_cache, v_cache;
    int64_t                         n_cached = 0;
    std::vector<uint64_t>           cached_sig; // per cached token: text id, or media hash ⊕ offset
    std::vector<int64_t>            positions;  // [3, S] of the last prompt
    int64_t                         rope_delta = 0;
    std::atomic<bool>               cancel{false};
    ActivationTap                   tap;
    WorkLimits                      limits;
    // Vision embeddings by content hash, least recently used first; bounded by bytes.
    std::list<std::pair<uint64_t, std::vector<float>>>                                    vision_lru;
    std::map<uint64_t, std::list<std::pair<uint64_t, std::vector<float>>>::iterator>       vision_index;
    uint64_t                                                                              vision_bytes = 0;
    static constexpr uint64_t vision_cache_cap_bytes = 512ull << 20;

    explicit Impl(std::shared_ptr<const Model> mr) : model_ref(std::move(mr)), m(model_ref->impl()) {
        k_cache.resize(size_t(m.config.text.n_layer));
        v_cache.resize(size_t(m.config.text.n_layer));
    }

    void truncate_cache(int64_t n) {
        const int64_t kv = m.config.text.n_head_kv * m.config.text.head_dim;
        for (auto& k : k_cache) k.resize(size_t(n * kv));
        for (auto& v : v_cache) v.resize(size_t(n * kv));
        n_cached = n;
        cached_sig.resize(size_t(n));
    }

    // The longest prompt + reply this session takes: the model's context, within the engine's own limit.
    int64_t max_context() const { return std::min<int64_t>(m.config.text.max_positions, limits::max_context_tokens); }

    // Room for `tokens` cached tokens in every layer before a turn starts, so that its decode steps append in place:
    // growing the vectors one token at a time made every layer copy its whole cache on the same step (a latency
    // spike of one full cache copy, on the first decode step after a prompt that filled the capacity exactly).
    // Reserved pages are not touched until written, so this does not add to the resident memory.
    void reserve_cache(int64_t tokens) {
        const size_t n = size_t(tokens * m.config.text.n_head_kv * m.config.text.head_dim);
        for (auto& k : k_cache)
            if (k.capacity() < n) k.reserve(n);
        for (auto& v : v_cache)
            if (v.capacity() < n) v.reserve(n);
        if (cached_sig.capacity() < size_t(tokens)) cached_sig.reserve(size_t(tokens));
    }

    const std::vector<float>* vision_lookup(uint64_t key) {
        auto it = vision_index.find(key);
        if (it == vision_index.end()) return nullptr;
        vision_lru.splice(vision_lru.end(), vision_lru, it->second);
        return &it->second->second;
    }

    void vision_store(uint64_t key, std::vector<float> emb) {
        vision_bytes += emb.size() * 4;
        vision_lru.emplace_back(key, std::move(emb));
        vision_index[key] = std::prev(vision_lru.end());
        while (vision_bytes > vision_cache_cap_bytes && vision_lru.size() > 1) {
            vision_bytes -= vision_lru.front().second.size() * 4;
            vision_index.erase(vision_lru.front().first);
            vision_lru.pop_front();
        }
    }

    void emit(const std::string& name, const float* d, int64_t rows, int64_t cols) {
        if (tap) tap(name, d, rows, cols);
    }

    // Rotary angles of n tokens, computed once per forward and shared by q and k of every layer:
    // cos/sin [n, rotary_dim/2]; frequency j follows the t, h or w axis by mrope section (spec §7).
    void mrope_table(int64_t n, const int64_t* pos, int64_t pos_stride, std::vector<float>* cos_t,
                     std::vector<float>* sin_t) const {
        const TextConfig& t    = m.config.text;
        const int64_t     half = t.rotary_dim / 2;
        std::vector<float> inv(static_cast<size_t>(half));
        for (int64_t j = 0; j < half; ++j)
            inv[size_t(j)] = 1.f / std::pow(float(t.rope_theta), float(2 * j) / float(t.rotary_dim));
        const int s0 = t.mrope_section[0], s1 = t.mrope_section[1];
        cos_t->resize(size_t(n * half));
        sin_t->resize(size_t(n * half));
#pragma omp parallel for schedule(static) if (n > 4)
        for (int64_t r = 0; r < n; ++r)
            for (int64_t j = 0; j < half; ++j) {
                const int   axis              = j < s0 ? 0 : (j < s0 + s1 ? 1 : 2);
                const float th                = float(pos[axis * pos_stride + r]) * inv[size_t(j)];
                (*cos_t)[size_t(r * half + j)] = std::cos(th);
                (*sin_t)[size_t(r * half + j)] = std::sin(th);
            }
    }

    // Interleaved rotary on the first rotary_dim dims of each head: pair (x_2j, x_2j+1) turns by angle j.
    void apply_mrope(float* x, int64_t n, int64_t n_heads, const std::vector<float>& cos_t,
                     const std::vector<float>& sin_t) const {
        const int64_t hd = m.config.text.head_dim, half = m.config.text.rotary_dim / 2;
#pragma omp parallel for schedule(static) if (n > 4)
        for (int64_t r = 0; r < n; ++r) {
            const float* c = cos_t.data() + r * half;
            const float* s = sin_t.data() + r * half;
            for (int64_t h = 0; h < n_heads; ++h) {
                float* v = x + (r * n_heads + h) * hd;
                for (int64_t j = 0; j < half; ++j) {
                    const float a = v[2 * j], b = v[2 * j + 1];
                    v[2 * j]      = a * c[j] - b * s[j];
                    v[2 * j + 1]  = b * c[j] + a * s[j];
                }
            }
        }
    }

    // Runs n new tokens (embeddings x [n, H], positions pos[3][pos_stride]) through the decoder, appending to the
    // KV cache. Writes logits of all rows (all_logits) or only the last row.
    Status run(float* x, int64_t n, const int64_t* pos, int64_t pos_stride, bool all_logits,
               std::vector<float>* logits) {
        const TextConfig&  t   = m.config.text;
        const TextWeights& w   = m.text;
        const int64_t      H   = t.hidden_size, nh = t.n_head, nkv = t.n_head_kv, hd = t.head_dim, I = t.intermediate;
        const int64_t      QD  = nh * hd, KD = nkv * hd;
        const int64_t      past = n_cached;
        // Written whole by the norms, products and attention before they are read: no zero-fill on this thread
        // (ops::OwnedFloats), which for a 1024-token chunk of the 9B would be 200 MB.
        ops::OwnedFloats   h(size_t(n * H)), q(size_t(n * QD)), attn(size_t(n * QD)), a(size_t(n * H));
        ops::OwnedFloats   gu(size_t(n * 2 * I)), mm(size_t(n * I));
        std::vector<float> rope_cos, rope_sin;
        mrope_table(n, pos, pos_stride, &rope_cos, &rope_sin);
        namespace Phases = decode_phases;
        const bool timed = n == 1 && Phases::enabled(); // single-token steps only
        for (int64_t li = 0; li < t.n_layer; ++li) {
            if (cancel.load(std::memory_order_relaxed)) {
                truncate_cache(past);
                return Status(ErrorCode::cancelled, "cancelled");
            }
            const TextLayerWeights& L = w.layers[size_t(li)];
            {
                const Phases::Scope ps(Phases::norms, timed);
                ops::rms_norm(x, n, H, L.input_norm.data(), t.rms_norm_eps, h.data());
            }
            auto& kc = k_cache[size_t(li)];
            auto& vc = v_cache[size_t(li)];
            kc.resize(size_t((past + n) * KD));
            vc.resize(size_t((past + n) * KD));
            float* k_new = kc.data() + past * KD;
            float* v_new = vc.data() + past * KD;
            auto   bias_of                = [](const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); };
            const ops::LinearTarget qkv[] = {{&L.q, bias_of(L.q_bias), q.data()},
                                             {&L.k, bias_of(L.k_bias), k_new},
                                             {&L.v, bias_of(L.v_bias), v_new}};
            {
                const Phases::Scope ps(Phases::qkv, timed);
                ops::linear_shared_input(h.data(), n, qkv);
            }
            {
                const Phases::Scope ps(Phases::rope, timed);
                apply_mrope(q.data(), n, nh, rope_cos, rope_sin);
                apply_mrope(k_new, n, nkv, rope_cos, rope_sin);
            }
            ops::AttentionShape as;
            as.n_q = n;
            as.n_k = past + n;
            as.n_head = nh;
            as.n_head_kv = nkv;
            as.head_dim  = hd;
            as.q_stride = as.out_stride = QD;
            as.k_stride = as.v_stride = KD;
            as.causal   = true;
            as.q_offset = past;
            as.bf16_products          = L.q.bf16_products;
            {
                const Phases::Scope ps(Phases::attention, timed);
                ops::attention(q.data(), kc.data(), vc.data(), attn.data(), as);
            }
            {
                const Phases::Scope ps(Phases::out_proj, timed);
                ops::linear(attn.data(), n, L.o, nullptr, a.data());
            }
            {
                const Phases::Scope ps(Phases::norms, timed);
                ops::rms_norm(a.data(), n, H, L.post_self_attn_norm.data(), t.rms_norm_eps, a.data());
                ops::add_inplace(x, a.data(), n * H);
                ops::rms_norm(x, n, H, L.post_attention_norm.data(), t.rms_norm_eps, h.data());
            }
            {
                const Phases::Scope ps(Phases::gate_up, timed);
                ops::linear(h.data(), n, L.gate_up, nullptr, gu.data());
            }
            // gate_up row = [gate (I) | up (I)]; m = up · silu(gate), over rows and pieces of them, so that a decode
            // step's single row is spread over the threads too (on one core it took about 0.1 ms of every layer while
            // the others waited): one piece per thread for a single row (2048-value pieces left 9 of 16 threads idle
            // on the 9B's 13696 values), 2048 values otherwise. Each piece is far below ops::silu_mul's own threading
            // threshold, so its parallel region stays off: a region opened inside this loop while it is inactive (one
            // token) would make libgomp start a fresh team of threads on every call, which cut M4 decode on the
            // 16-core host from 90 to 4-40 tokens/s.
            const int64_t threads = omp_get_max_threads();
            const int64_t piece   = n == 1 ? ((I + threads - 1) / threads + 15) / 16 * 16 : 2048;
            const int64_t pieces = (I + piece - 1) / piece;
            {
                const Phases::Scope ps(Phases::silu, timed);
#pragma omp parallel for schedule(static) if (n * I >= 4096)
                for (int64_t t = 0; t < n * pieces; ++t) {
                    const int64_t r = t / pieces, b = t % pieces * piece;
                    const float*  g = gu.data() + r * 2 * I;
                    ops::silu_mul(g + b, g + I + b, std::min(piece, I - b), mm.data() + r * I + b);
                }
            }
            {
                const Phases::Scope ps(Phases::down, timed);
                ops::linear(mm.data(), n, L.down, nullptr, a.data());
            }
            {
                const Phases::Scope ps(Phases::norms, timed);
                ops::rms_norm(a.data(), n, H, L.post_mlp_norm.data(), t.rms_norm_eps, a.data());
                ops::add_inplace(x, a.data(), n * H);
            }
            emit("text.layers." + std::to_string(li), x, n, H);
        }
        n_cached = past + n;
        if (!logits) return {}; // an inner chunk of a long prefill: only its cache entries are needed
        const Phases::Scope head_scope(Phases::head, timed);
        if (timed) Phases::count_step();
        ops::rms_norm(x, n, H, w.norm.data(), t.rms_norm_eps, x);
        emit("text.norm", x, n, H);
        const int64_t V = t.vocab_size;
        if (all_logits) {
            logits->assign(size_t(n * V), 0.f);
            ops::linear(x, n, w.lm_head, nullptr, logits->data());
        } else {
            logits->resize(size_t(V)); // every entry is written by the product: no zero-fill per token
            ops::linear(x + (n - 1) * H, 1, w.lm_head, nullptr, logits->data());
        }
        return {};
    }

    // Media content keys: one per run (image, or video frame pair).
    std::vector<uint64_t> media_keys(const ModelInputs& in, const std::vector<MediaRun>& runs) const {
        const int64_t         P = m.config.vision.patch_dim();
        std::vector<uint64_t> keys;
        for (const MediaRun& r : runs) {
            const std::vector<float>& px = r.video ? in.pixel_values_videos : in.pixel_values;
            const int64_t             rows = r.grid.patches();
            uint64_t key = hash_bytes(px.data() + r.patch_row * P, size_t(rows * P) * 4, 0x51ED);
            key          = hash_bytes(&r.grid, sizeof(GridTHW), key);
            keys.push_back(key & ~kMediaSigBit);
        }
        return keys;
    }

    Status check_inputs(const ModelInputs& in) const {
        const ModelConfig& c = m.config;
        const int64_t      P = c.vision.patch_dim();
        if (in.input_ids.empty()) return Status(ErrorCode::invalid_argument, "the prompt is empty");
        if (int64_t(in.input_ids.size()) > max_context())
            return Status(ErrorCode::out_of_range, "the prompt has " + std::to_string(in.input_ids.size()) +
                                                       " tokens, more than the model's context of " +
                                                       std::to_string(c.text.max_positions));
        for (size_t i = 0; i < in.input_ids.size(); ++i)
            if (in.input_ids[i] < 0 || in.input_ids[i] >= c.text.vocab_size)
                return Status(ErrorCode::out_of_range, "token id " + std::to_string(in.input_ids[i]) + " at position " +
                                                           std::to_string(i) + " is outside the vocabulary (0.." +
                                                           std::to_string(c.text.vocab_size - 1) + ")");
        auto check_pixels = [&](const std::vector<float>& px, const std::vector<GridTHW>& grids, const char* what) -> Status {
            int64_t rows = 0;
            for (const GridTHW& g : grids) {
                if (g.t <= 0 || g.h <= 0 || g.w <= 0 || g.h % 2 || g.w % 2 || g.h > 4096 || g.w > 4096 || g.t > 4096)
                    return Status(ErrorCode::invalid_argument, std::string(what) + " grid has invalid dimensions");
                rows += g.patches();
            }
            if (int64_t(px.size()) != rows * P)
                return Status(ErrorCode::invalid_argument, std::string(what) + ": pixel values hold " +
                                                               std::to_string(px.size()) + " floats but the grids need " +
                                                               std::to_string(rows * P));
            return {};
        };
        GLMV_RETURN_IF_ERROR(check_pixels(in.pixel_values, in.image_grid_thw, "image"));
        GLMV_RETURN_IF_ERROR(check_pixels(in.pixel_values_videos, in.video_grid_thw, "video"));
        if (!in.mm_token_type_ids.empty() && in.mm_token_type_ids.size() != in.input_ids.size())
            return Status(ErrorCode::invalid_argument, "mm_token_type_ids and input_ids differ in length");
        return {};
    }

    // Prefills the prompt, reusing the longest cached prefix. Returns the last row's logits.
    Status prefill(const ModelInputs& in, bool all_logits, std::vector<float>* logits, GenerationResult* stats) {
        const auto t0 = Clock::now();
        GLMV_RETURN_IF_ERROR(check_inputs(in));
        const ModelConfig& c = m.config;
        const int64_t      S = int64_t(in.input_ids.size()), H = c.text.hidden_size;
        std::vector<int64_t> types = in.mm_token_type_ids.empty() ? derive_mm_token_types(c, in.input_ids)
                                                                  : in.mm_token_type_ids;
        std::vector<MediaRun> runs;
        GLMV_RETURN_IF_ERROR(plan_media_runs(c, in, types, &runs));
        rope_positions(c, S, runs, &positions, &rope_delta);
        const std::vector<uint64_t> keys = media_keys(in, runs);

        // Token signatures → reusable prefix.
        std::vector<uint64_t> sig(static_cast<size_t>(S));
        for (int64_t i = 0; i < S; ++i) sig[size_t(i)] = uint64_t(in.input_ids[size_t(i)]);
        for (size_t r = 0; r < runs.size(); ++r)
            for (int64_t j = 0; j < runs[r].tokens; ++j)
                sig[size_t(runs[r].start + j)] = kMediaSigBit | ((keys[r] + uint64_t(j) * 0x9E3779B97F4A7C15ull) >> 1);
        int64_t L = 0;
        if (!all_logits)
            while (L < n_cached && L < S && cached_sig[size_t(L)] == sig[size_t(L)]) ++L;
        if (L == S) --L; // at least one token must run to produce logits
        truncate_cache(L);

        // Embeddings of the runs that reach into [L, S): from the cache or encoded now (all in one batch).
        const auto                             tv = Clock::now();
        std::vector<const std::vector<float>*> run_emb(runs.size(), nullptr);
        std::vector<size_t>                    to_encode;
        for (size_t r = 0; r < runs.size(); ++r) {
            if (runs[r].start + runs[r].tokens <= L) continue;
            if (!all_logits) run_emb[r] = vision_lookup(keys[r]);
            if (!run_emb[r]) to_encode.push_back(r);
        }
        std::vector<std::vector<float>> fresh(runs.size());
        if (!to_encode.empty()) {
            const int64_t        P = c.vision.patch_dim();
            std::vector<float>   px;
            std::vector<GridTHW> grids;
            std::vector<int64_t> first_row;
            int64_t              rows = 0;
            for (size_t r : to_encode) {
                const MediaRun&           run = runs[r];
                const std::vector<float>& src = run.video ? in.pixel_values_videos : in.pixel_values;
                first_row.push_back(rows / 4);
                for (int64_t t = 0; t < run.grid.t; ++t) grids.push_back(GridTHW{1, run.grid.h, run.grid.w});
                px.insert(px.end(), src.begin() + run.patch_row * P, src.begin() + (run.patch_row + run.grid.patches()) * P);
                rows += run.grid.patches();
            }
            std::vector<float> emb;
            const ActivationTap* tp = tap ? &tap : nullptr;
            GLMV_RETURN_IF_ERROR(encode_vision(m, px.data(), grids, limits.vision_group_patches, &emb, tp, &cancel));
            for (size_t i = 0; i < to_encode.size(); ++i) {
                const size_t r = to_encode[i];
                // One run (one image or video, the usual case) takes the batch's rows as they are instead of a copy
                // (78 MB for an 8-frame 720p video at the 9B's width; not the peak, which the vision tower sets).
                if (to_encode.size() == 1 && int64_t(emb.size()) == runs[r].tokens * H) fresh[r] = std::move(emb);
                else fresh[r].assign(emb.begin() + first_row[i] * H, emb.begin() + (first_row[i] + runs[r].tokens) * H);
                run_emb[r] = &fresh[r];
            }
        }
        if (stats) stats->vision_ms = ms_since(tv);

        // Input embeddings of tokens [i0, i1) into out [i1 - i0, H]: text rows from the table, media rows from
        // their runs. Filled chunk by chunk below, so a long prompt never holds all its rows at once (a 19k-token
        // video prompt's would be 312 MB next to the cached vision embeddings they copy).
        auto embed_rows = [&](int64_t i0, int64_t i1, float* out) {
            std::fill(out, out + (i1 - i0) * H, 0.f); // as before for any row neither fills (none in checked inputs)
            for (int64_t i = i0; i < i1; ++i)
                if (types[size_t(i)] == 0) ops::weight_row_to_f32(m.text.embed, in.input_ids[size_t(i)], out + (i - i0) * H);
            for (size_t r = 0; r < runs.size(); ++r) {
                if (!run_emb[r]) continue;
                const int64_t j0 = std::max<int64_t>(0, i0 - runs[r].start);
                const int64_t j1 = std::min<int64_t>(runs[r].tokens, i1 - runs[r].start);
                for (int64_t j = j0; j < j1; ++j)
                    std::memcpy(out + (runs[r].start + j - i0) * H, run_emb[r]->data() + j * H, size_t(H) * 4);
            }
        };
        const int64_t n = S - L;
        // Positions of the new tokens as [3][n] with stride S.
        // Long prompts run in chunks (each attends to the cache its predecessors filled), so the MLP intermediates
        // stay bounded: a 19k-token video prompt at the 9B's widths would otherwise need about 4 GB of activations
        // at once. With an activation tap it runs whole, so every tapped tensor is whole.
        const int64_t      step = tap ? n : std::max<int64_t>(1, limits.prefill_chunk_tokens);
        std::vector<float> x(size_t(std::min(step, n) * H));
        std::vector<float> part_logits;
        if (all_logits) logits->clear();
        for (int64_t c0 = 0; c0 < n; c0 += step) {
            const int64_t rows = std::min(step, n - c0);
            const bool    last = c0 + rows >= n;
            embed_rows(L + c0, L + c0 + rows, x.data());
            Status st = run(x.data(), rows, positions.data() + L + c0, S, all_logits,
                            all_logits || last ? &part_logits : nullptr);
            if (!st.ok()) {
                truncate_cache(L);
                return st;
            }
            if (all_logits)
                logits->insert(logits->end(), part_logits.begin(), part_logits.end());
            else if (last)
                logits->swap(part_logits);
        }
        cached_sig.resize(size_t(L));
        cached_sig.insert(cached_sig.end(), sig.begin() + L, sig.end());
        for (size_t i = 0; i < to_encode.size(); ++i)
            if (!all_logits) vision_store(keys[to_encode[i]], std::move(fresh[to_encode[i]]));
        if (stats) {
            stats->prompt_tokens = S;
            stats->reused_tokens = L;
            stats->prefill_ms    = ms_since(t0);
        }
        return {};
    }

    // One generated token at cache index n_cached; its position is n_cached + rope_delta on all axes.
    Status decode_one(int64_t token, std::vector<float>* logits) {
        const int64_t      H = m.config.text.hidden_size;
        std::vector<float> x(static_cast<size_t>(H));
        ops::weight_row_to_f32(m.text.embed, token, x.data());
        const int64_t p      = n_cached + rope_delta;
        const int64_t pos[3] = {p, p, p};
        GLMV_RETURN_IF_ERROR(run(x.data(), 1, pos, 1, false, logits));
        cached_sig.push_back(uint64_t(token));
        return {};
    }
};

Session::Session(std::shared_ptr<const Model> model) : impl_(std::make_unique<Impl>(std::move(model))) {}
Session::~Session() = default;

void Session::request_cancel() { impl_->cancel.store(true); }
void Session::set_activation_tap(ActivationTap tap) { impl_->tap = std::move(tap); }
void Session::set_work_limits(WorkLimits limits) { impl_->limits = limits; }
int64_t Session::cached_tokens() const { return impl_->n_cached; }
int64_t Session::kv_capacity_tokens() const {
    const Impl&   s  = *impl_;
    const int64_t kv = s.m.config.text.n_head_kv * s.m.config.text.head_dim;
    size_t        n  = SIZE_MAX;
    for (const auto& k : s.k_cache)
        n = std::min(n, k.capacity());
    for (const auto& v : s.v_cache)
        n = std::min(n, v.capacity());
    return s.k_cache.empty() ? 0 : int64_t(n) / kv;
}
const std::vector<int64_t>& Session::position_ids() const { return impl_->positions; }
int64_t                     Session::rope_delta() const { return impl_->rope_delta; }

void Session::reset() {
    impl_->truncate_cache(0);
    impl_->vision_lru.clear();
    impl_->vision_index.clear();
    impl_->vision_bytes = 0;
}

Status Session::forward_all(const ModelInputs& in, std::vector<float>* logits) {
    impl_->cancel.store(false);
    impl_->truncate_cache(0);
    return impl_->prefill(in, true, logits, nullptr);
}

Result<GenerationResult> Session::generate(const ModelInputs& in, const GenerationParams& gp,
                                           const TokenCallback& on_token) {
    Impl& s = *impl_;
    s.cancel.store(false);
    const auto       t0 = Clock::now();
    GenerationResult res;
    std::vector<float> logits;
    s.reserve_cache(std::min<int64_t>(s.max_context(), int64_t(in.input_ids.size()) + std::max(0, gp.max_new_tokens)));
    Status st = s.prefill(in, false, &logits, &res);
    if (st.code() == ErrorCode::cancelled) {
        res.stop = GenerationResult::Stop::cancelled;
        return res;
    }
    if (!st.ok()) return st;
    const std::vector<int64_t>& stops = gp.stop_token_ids.empty() ? s.m.config.text.eos_token_ids : gp.stop_token_ids;
    std::vector<int64_t> history = in.input_ids;
    Sampler              sampler(gp.sampling);
    const int64_t        V = s.m.config.text.vocab_size;
    const auto           td = Clock::now();
    bool                 in_think = false, think_closed = false;
    int                  think_tokens = 0;
    std::vector<int64_t> forced;
    res.stop = GenerationResult::Stop::max_tokens;
    for (int step = 0; step < gp.max_new_tokens; ++step) {
        if (s.cancel.load()) {
            res.stop = GenerationResult::Stop::cancelled;
            break;
        }
        int64_t tok;
        if (!forced.empty()) {
            tok = forced.front();
            forced.erase(forced.begin());
        } else {
            const decode_phases::Scope ps(decode_phases::sampling, decode_phases::enabled());
            tok = sampler.sample(logits, history);
        }
        if (tok < 0 || tok >= V) return Status(ErrorCode::internal, "sampler produced an invalid id");
        if (res.tokens.empty()) res.time_to_first_token_ms = ms_since(t0);
        res.tokens.push_back(tok);
        history.push_back(tok);
        if (!on_token(tok)) {
            res.stop = GenerationResult::Stop::callback;
            break;
        }
        if (std::find(stops.begin(), stops.end(), tok) != stops.end()) {
            res.stop = GenerationResult::Stop::eos;
            break;
        }
        if (tok == gp.think_start_id && !in_think && !think_closed) in_think = true;
        else if (tok == gp.think_end_id) think_closed = true, in_think = false;
        else if (in_think && !think_closed && forced.empty() && gp.thinking_budget >= 0 &&
                 ++think_tokens > gp.thinking_budget) {
            forced       = gp.force_after_budget;
            think_closed = true;
            in_think     = false;
        }
        if (step + 1 == gp.max_new_tokens) break;
        st = s.decode_one(tok, &logits);
        if (st.code() == ErrorCode::cancelled) {
            res.stop = GenerationResult::Stop::cancelled;
            break;
        }
        if (!st.ok()) return st;
    }
    res.decode_ms = ms_since(td);
    return res;
}

} // namespace glmv
