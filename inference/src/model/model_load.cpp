// Model::load: config → expected tensor table → bind every tensor (shape + dtype checked) without copying; then
// quantise at load, unless the folder was written by glmv-cli quantize (its q8/q4 tensors are repacked into
// the engine's blocks of four rows, not quantised again).
#include <filesystem>
#include <new>
#include <omp.h>

#include "glmv/common/log.h"
#include "model/model_impl.h"
#include "model/prompt_arithmetic.h"
#include "model/quantized_format.h"
#include "ops/cpu_topology.h"

namespace glmv {

namespace {

WeightMatrix as_matrix(const TensorView* t, int64_t rows, int64_t cols) {
    WeightMatrix w;
    if (!t) return w;
    w.dtype = t->dtype;
    w.data  = t->data;
    w.rows  = rows;
    w.cols  = cols;
    return w;
}

std::vector<float> as_vector(const TensorView* t) { return t ? tensor_to_f32(*t) : std::vector<float>{}; }

int64_t product(const std::vector<int64_t>& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
}

// Binds a linear weight [rows, cols...] as a matrix [rows, product(cols...)].
WeightMatrix bind_matrix(TensorChecker& c, const std::string& name, const std::vector<int64_t>& shape) {
    return as_matrix(c.require(name, shape), shape[0], product(shape) / shape[0]);
}

std::vector<float> bind_vector(TensorChecker& c, const std::string& name, int64_t n) {
    return as_vector(c.require(name, {n}));
}

std::vector<float> bind_optional_vector(TensorChecker& c, const std::string& name, int64_t n) {
    return as_vector(c.optional(name, {n}));
}

Status bind_vision(const VisionConfig& v, TensorChecker& c, VisionWeights* w) {
    const std::string p = "model.visual.";
    const int64_t     H = v.hidden_size, O = v.out_hidden_size, I = v.intermediate, G = v.pos_grid();
    w->patch_embed      = bind_matrix(c, p + "patch_embed.proj.weight",
                                      {H, v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size});
    w->patch_embed_bias = bind_vector(c, p + "patch_embed.proj.bias", H);
    w->post_conv_norm   = bind_vector(c, p + "post_conv_layernorm.weight", H);
    w->pos_table        = as_vector(c.require(p + "embeddings.position_embedding.weight", {G * G, H}));
    w->blocks.resize(size_t(v.depth));
    for (int64_t i = 0; i < v.depth; ++i) {
        const std::string  b  = p + "blocks." + std::to_string(i) + ".";
        VisionBlockWeights& k = w->blocks[size_t(i)];
        k.norm1               = bind_vector(c, b + "norm1.weight", H);
        k.norm2               = bind_vector(c, b + "norm2.weight", H);
        k.qkv                 = bind_matrix(c, b + "attn.qkv.weight", {3 * H, H});
        k.qkv_bias            = bind_optional_vector(c, b + "attn.qkv.bias", 3 * H);
        k.proj                = bind_matrix(c, b + "attn.proj.weight", {H, H});
        k.proj_bias           = bind_optional_vector(c, b + "attn.proj.bias", H);
        k.gate                = bind_matrix(c, b + "mlp.gate_proj.weight", {O, H});
        k.up                  = bind_matrix(c, b + "mlp.up_proj.weight", {O, H});
        k.down                = bind_matrix(c, b + "mlp.down_proj.weight", {H, O});
    }
    w->post_norm       = bind_vector(c, p + "post_layernorm.weight", H);
    w->downsample      = bind_matrix(c, p + "downsample.weight", {O, H, 2, 2});
    w->downsample_bias = bind_vector(c, p + "downsample.bias", O);
    w->merger_proj     = bind_matrix(c, p + "merger.proj.weight", {O, O});
    w->merger_ln_w     = bind_vector(c, p + "merger.post_projection_norm.weight", O);
    w->merger_ln_b     = bind_vector(c, p + "merger.post_projection_norm.bias", O);
    w->merger_gate     = bind_matrix(c, p + "merger.gate_proj.weight", {I, O});
    w->merger_up       = bind_matrix(c, p + "merger.up_proj.weight", {I, O});
    w->merger_down     = bind_matrix(c, p + "merger.down_proj.weight", {O, I});
    return {};
}

// The matrices q8/q4 apply to (can_quantize), bound by the folder's stored format: an ordinary folder binds them
// dense and lists them for quantisation (at load, or by glmv-cli quantize); a quantised folder binds the stored
// data and scales, repacked into blocks (quant_blocks.h).
struct LinearBinder {
    TensorChecker&                  checker;
    WeightFormat                    stored;
    std::vector<QuantizableMatrix>* quantizable;
    // What repacking a quantised folder's matrices into blocks adds to the bytes of their files (padding rows and
    // groups to fours).
    int64_t block_padding_bytes = 0;

    void bind(WeightMatrix& w, const std::string& name, int64_t rows, int64_t cols) {
        if (stored != WeightFormat::bf16 && ops::can_quantize(cols)) {
            auto [data, scales] = checker.require_quantized(name, rows, cols, stored);
            if (data) w = quantized_view(data, scales, rows, cols);
            return;
        }
        const TensorView* t = checker.require(name, {rows, cols});
        w                   = as_matrix(t, rows, cols);
        if (t && stored == WeightFormat::bf16 && ops::can_quantize(cols)) quantizable->push_back({t->name, &w, t, false});
    }

    // A tied LM head: the embedding table, or in a quantised folder its own stored quantised copy.
    void bind_tied_head(WeightMatrix& head, const WeightMatrix& embed, const TensorView* embed_tensor) {
        if (stored != WeightFormat::bf16 && ops::can_quantize(embed.cols)) {
            auto [data, scales] = checker.require_quantized("lm_head.weight", embed.rows, embed.cols, stored);
            if (data) head = quantized_view(data, scales, embed.rows, embed.cols);
            return;
        }
        head = embed;
        if (embed_tensor && stored == WeightFormat::bf16 && ops::can_quantize(embed.cols))
            quantizable->push_back({"lm_head.weight", &head, embed_tensor, true});
    }

    // The folder's row-major tensors repacked into the engine's blocks of four rows (quant_blocks.h); the mapped
    // pages are read once and dropped, so the folder is not held twice.
    WeightMatrix quantized_view(const TensorView* data, const TensorView* scales, int64_t rows, int64_t cols) {
        // alignment of the scales checked by quantized_file_format
        WeightMatrix w = ops::pack_quantized_rows(quantized::to_quant(stored), data->data,
                                                  reinterpret_cast<const float*>(scales->data), rows, cols);
        drop_mapped_pages(data->data, data->nbytes);
        drop_mapped_pages(scales->data, scales->nbytes);
        block_padding_bytes += int64_t(w.bytes()) - int64_t(data->nbytes + scales->nbytes);
        return w;
    }
};

Status bind_text(const TextConfig& t, bool tie, TensorChecker& c, LinearBinder& lin, TextWeights* w) {
    const std::string p = "model.language_model.";
    const int64_t     H = t.hidden_size, V = t.vocab_size, I = t.intermediate;
    const int64_t     QD = t.n_head * t.head_dim, KD = t.n_head_kv * t.head_dim;
    const TensorView* embed = c.require(p + "embed_tokens.weight", {V, H});
    w->embed                = as_matrix(embed, V, H);
    w->layers.resize(size_t(t.n_layer)); // not resized again: `lin` keeps pointers to the matrices
    for (int64_t i = 0; i < t.n_layer; ++i) {
        const std::string b = p + "layers." + std::to_string(i) + ".";
        TextLayerWeights& l = w->layers[size_t(i)];
        l.input_norm          = bind_vector(c, b + "input_layernorm.weight", H);
        l.post_self_attn_norm = bind_vector(c, b + "post_self_attn_layernorm.weight", H);
        l.post_attention_norm = bind_vector(c, b + "post_attention_layernorm.weight", H);
        l.post_mlp_norm       = bind_vector(c, b + "post_mlp_layernorm.weight", H);
        lin.bind(l.q, b + "self_attn.q_proj.weight", QD, H);
        lin.bind(l.k, b + "self_attn.k_proj.weight", KD, H);
        lin.bind(l.v, b + "self_attn.v_proj.weight", KD, H);
        if (t.attention_bias) {
            l.q_bias = bind_vector(c, b + "self_attn.q_proj.bias", QD);
            l.k_bias = bind_vector(c, b + "self_attn.k_proj.bias", KD);
            l.v_bias = bind_vector(c, b + "self_attn.v_proj.bias", KD);
        }
        lin.bind(l.o, b + "self_attn.o_proj.weight", H, QD);
        lin.bind(l.gate_up, b + "mlp.gate_up_proj.weight", 2 * I, H);
        lin.bind(l.down, b + "mlp.down_proj.weight", H, I);
    }
    w->norm = bind_vector(c, p + "norm.weight", H);
    if (tie) lin.bind_tied_head(w->lm_head, w->embed, embed);
    else lin.bind(w->lm_head, "lm_head.weight", V, H);
    return {};
}

} // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const ModelConfig& Model::config() const { return impl_->config; }
uint64_t           Model::weight_bytes() const { return impl_->weight_bytes; }
const std::string& Model::model_dir() const { return impl_->model_dir; }
WeightFormat       Model::weight_format() const { return impl_->weights; }
bool               Model::bf16_prompt_products() const {
                  return impl_->bf16_products;
}

Result<std::shared_ptr<const Model>> Model::load(const std::string& model_dir, const LoadParams& params) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(model_dir, ec))
        return Status(ErrorCode::not_found, "model folder '" + model_dir + "' does not exist");
    auto cfg = load_model_config((fs::path(model_dir) / "config.json").string());
    if (!cfg) return cfg.status();
    auto store = WeightStore::open(model_dir);
    if (!store) return store.status();

    const WeightFormat stored = store->stored_format();
    if (stored != WeightFormat::bf16 && params.weights != WeightFormat::bf16 && params.weights != stored) {
        const std::string have = weight_format_name(stored), want = weight_format_name(params.weights);
        return Status(ErrorCode::invalid_argument,
                      "'" + model_dir + "' holds " + have + " weights written by glmv-cli quantize, so it cannot be "
                      "loaded as " + want + " (quantising quantised weights again would add error): choose " + have +
                      " (or bf16, which loads a folder as it is stored), or run glmv-cli quantize --weights " + want +
                      " on the original model");
    }

    auto impl       = std::make_unique<Impl>();
    impl->config    = std::move(cfg.value());
    impl->model_dir = model_dir;
    impl->store     = std::move(store.value());
    impl->params    = params;
    impl->weights   = stored != WeightFormat::bf16 ? stored : params.weights;
    // Quantising at load and repacking a quantised folder allocate the decoder's weights (gigabytes): where the
    // memory is not there, an error that says so instead of an abort.
    try {
        TensorChecker checker(impl->store);
        LinearBinder  linear{checker, stored, &impl->quantizable};
        GLMV_RETURN_IF_ERROR(bind_vision(impl->config.vision, checker, &impl->vision));
        GLMV_RETURN_IF_ERROR(bind_text(impl->config.text, impl->config.tie_word_embeddings, checker, linear, &impl->text));
        GLMV_RETURN_IF_ERROR(checker.status().with_context(model_dir));
        impl->weight_bytes = impl->store.total_bytes() + uint64_t(linear.block_padding_bytes);
        if (stored == WeightFormat::bf16 && params.weights != WeightFormat::bf16) {
            // Decoder matrices and the LM head are quantised; the vision tower and the embedding table stay in the
            // file's dtype (the vision tower is GEMM-bound, and embeddings are read one row per token). The byte count
            // swaps each matrix's file bytes for its quantised bytes, whatever the file dtype; a tied LM head is the
            // embedding table (counted once in the file), so its quantised copy is extra.
            const ops::Quant q = quantized::to_quant(params.weights);
            for (QuantizableMatrix& m : impl->quantizable) {
                const uint64_t before = m.matrix->bytes();
                ops::quantize_matrix(*m.matrix, q);
                impl->weight_bytes = impl->weight_bytes - (m.tied ? 0 : before) + m.matrix->bytes();
            }
            impl->store.release_pages(); // the bf16 pages read while quantising are no longer needed
        }
    } catch (const std::bad_alloc&) {
        const bool q4 = impl->weights == WeightFormat::q4;
        return Status(ErrorCode::out_of_memory,
                      std::string("not enough memory to hold the ") + weight_format_name(impl->weights) +
                          " weights of '" + model_dir + "' (about " +
                          std::to_string(impl->store.total_bytes() / 1000000000 + 1) + " GB of files): close other " +
                          (q4 ? "programs (q4 is the smallest weight format)"
                              : "programs, or choose q4 weights, about 40 % smaller (Settings → Weights, --weights q4)"));
    }
    set_bf16_products(*impl, resolves_to_bf16(params.prompt_arithmetic));
    // Threads of the calling thread's parallel regions (the thread that loads is the one that runs the model):
    // as asked, else as OMP_NUM_THREADS says, else one per physical core (ops::default_thread_count).
    if (params.n_threads > 0) omp_set_num_threads(params.n_threads);
    else
        ops::use_default_thread_count();
    GLMV_LOG_INFO("loaded %s: %zu tensors, %.1f MB, prompt products in %s", model_dir.c_str(),
                  impl->store.tensor_count(), double(impl->weight_bytes) / 1e6, impl->bf16_products ? "bf16" : "fp32");
    return std::shared_ptr<const Model>(new Model(std::move(impl)));
}

} // namespace glmv
