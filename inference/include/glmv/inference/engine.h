// The GLM-4.1V engine: a Model (immutable weights) and Sessions (KV cache, generation).
//
//   glmv::LoadParams lp;                                   // weights stay memory-mapped
//   auto model = glmv::Model::load("/models/GLM-4.1V-9B-Thinking", lp);
//   if (!model) { report(model.status().message()); return; }
//   glmv::Session session(*model);
//
//   glmv::ModelInputs in;                                  // from the chat prompt + preprocessing
//   in.input_ids = {...};  in.pixel_values = {...};  in.image_grid_thw = {{1, 34, 46}};
//   glmv::GenerationParams gp;  gp.max_new_tokens = 512;   gp.sampling.temperature = 0.8f;
//   auto r = session.generate(in, gp, [](int64_t id) { print(id); return true; });
//
// Threading: a Model is immutable after load and may be shared by any number of threads and Sessions.
// A Session must not be used by two threads at once, except `request_cancel()`, which any thread may call.
// Heavy work is parallelised inside each call with OpenMP.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "glmv/common/status.h"
#include "glmv/inference/model_config.h"

namespace glmv {

// One image, or one video (t = frame pairs), in patches of the vision tower: (t, h, w) with h, w in patches.
struct GridTHW {
    int64_t t = 1, h = 0, w = 0;
    int64_t patches() const { return t * h * w; }
    bool    operator==(const GridTHW&) const = default;
};

// What the prompt builder and preprocessing produce; mirrors the Hugging Face processor outputs.
struct ModelInputs {
    std::vector<int64_t> input_ids;
    std::vector<int64_t> mm_token_type_ids;   // 0 text, 1 image token, 2 video token; derived when empty
    std::vector<float>   pixel_values;        // [Σ patches of images, 1176]
    std::vector<GridTHW> image_grid_thw;
    std::vector<float>   pixel_values_videos; // [Σ patches of videos, 1176]
    std::vector<GridTHW> video_grid_thw;
};

enum class WeightFormat { bf16, q8, q4 };

// "bf16", "q8" or "q4".
const char* weight_format_name(WeightFormat f);
// The format named "q8" or "q4"; any other name gives bf16 (the weights as stored).
WeightFormat weight_format_named(std::string_view name);

// How products of many rows (prompt prefill, the vision tower) multiply. exact: fp32 throughout, which matches the
// reference's fp32 outputs within 1e-3 of the largest logit. bf16: inputs and weights rounded to bf16, sums in fp32,
// as the reference computes when it runs the model in bf16 (its usual dtype); about twice as fast per AVX-512
// instruction and many times on AMX. automatic: bf16 where the CPU multiplies bf16 natively (AVX512-BF16 or AMX),
// else exact. Decode (one row at a time) is unaffected either way.
enum class PromptArithmetic { automatic, exact, bf16 };

// "auto", "exact" or "bf16".
const char* prompt_arithmetic_name(PromptArithmetic a);
// The arithmetic named "auto", "exact" or "bf16", or nullopt for any other name.
std::optional<PromptArithmetic> prompt_arithmetic_named(std::string_view name);

struct LoadParams {
    // bf16: the weights as stored (dense weights stay memory-mapped; a folder written by `glmv-cli quantize` is used
    // in its own format). q8/q4: dense decoder matrices are quantised at load time; a folder quantised to the same
    // format is mapped as it is, one quantised to the other format is refused (glmv/inference/quantize.h).
    WeightFormat weights   = WeightFormat::bf16;
    int          n_threads = 0; // 0 = OMP_NUM_THREADS, else one per physical core
    PromptArithmetic prompt_arithmetic = PromptArithmetic::automatic;
};

class Model {
  public:
    static Result<std::shared_ptr<const Model>> load(const std::string& model_dir, const LoadParams& params = {});
    ~Model();

    const ModelConfig& config() const;
    // Bytes of the weights in their file format (what a forward pass reads).
    uint64_t           weight_bytes() const;
    // The format of the decoder matrices in memory: quantised at load, as stored by glmv-cli quantize, or bf16.
    WeightFormat       weight_format() const;
    const std::string& model_dir() const;
    // Whether products of many rows run in bf16 (LoadParams::prompt_arithmetic as resolved on this CPU).
    bool bf16_prompt_products() const;

    struct Impl;
    const Impl& impl() const { return *impl_; }

  private:
    explicit Model(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

struct SamplingParams {
    bool     greedy             = false;
    float    temperature        = 1.0f;
    float    top_p              = 1.0f;
    int      top_k              = 0;    // 0 = off
    float    repetition_penalty = 1.0f; // 1 = off; HF semantics over prompt + generated ids
    uint64_t seed               = 0;
};

struct GenerationParams {
    SamplingParams       sampling;
    int                  max_new_tokens = 8192;
    std::vector<int64_t> stop_token_ids; // empty = the config's eos ids
    // Thinking budget (the official evaluation trick): when more than `thinking_budget` tokens were generated
    // inside <think> without </think>, `force_after_budget` (the ids of "</think><answer>") is appended and
    // generation continues. -1 = no budget.
    int                  thinking_budget   = -1;
    int64_t              think_start_id    = -1;
    int64_t              think_end_id      = -1;
    std::vector<int64_t> force_after_budget;
};

struct GenerationResult {
    std::vector<int64_t> tokens;           // generated ids (including forced ones and the stop token)
    enum class Stop { eos, max_tokens, cancelled, callback } stop = Stop::eos;
    int64_t              prompt_tokens     = 0;
    int64_t              reused_tokens     = 0; // prompt tokens served from the KV cache
    double               prefill_ms        = 0; // includes vision encoding
    double               vision_ms         = 0;
    double               decode_ms         = 0;
    double               time_to_first_token_ms = 0;
};

// Called with each generated id; return false to stop.
using TokenCallback = std::function<bool(int64_t token)>;
// Receives named intermediate activations (rows × cols, row-major), for parity tests and debugging.
using ActivationTap = std::function<void(const std::string& name, const float* data, int64_t rows, int64_t cols)>;

// How much of a long input runs through the model at once. Smaller pieces bound the activation memory (a 32-frame
// 720p video is 76,544 patches and a 19k-token prompt); the results are the same either way.
struct WorkLimits {
    // Prompt tokens per decoder pass (each attends to the cache before it). 1024, not 2048: the activations of a
    // chunk at the 9B's widths are about 0.4 GB per 1024 tokens, which put M4's peak RSS at 1.13 of weights + KV
    // cache + 10 % with 2048 and at 1.03 with 1024 (prefill of 4096 tokens on the 2-core VM: 365-386 tokens/s
    // with 2048, 393-402 with 1024, 381-387 with 512).
    int64_t prefill_chunk_tokens = 1024;
    int64_t vision_group_patches = 8192; // patches per vision-tower pass; whole images / frame pairs only, so a
                                         // larger image runs on its own
};

class Session {
  public:
    explicit Session(std::shared_ptr<const Model> model);
    ~Session();
    Session(const Session&)            = delete;
    Session& operator=(const Session&) = delete;

    // Runs the whole prompt from an empty cache and returns logits for every position ([S, vocab]).
    Status forward_all(const ModelInputs& in, std::vector<float>* logits);

    // Generates after the prompt. The KV cache of the previous call is reused for the longest common prefix
    // (same ids and, for media tokens, the same media), so a follow-up turn only prefills what is new.
    Result<GenerationResult> generate(const ModelInputs& in, const GenerationParams& params,
                                      const TokenCallback& on_token);

    // 3D rope positions of the last prompt ([3, S], row-major) and its rope delta.
    const std::vector<int64_t>& position_ids() const;
    int64_t                     rope_delta() const;

    // Thread-safe: makes the running call stop within one token (or one layer during prefill).
    void request_cancel();
    // Drops the KV cache and the vision-embedding cache.
    void reset();
    // With a tap set, prompts and media run whole (every tapped tensor is complete), whatever the work limits.
    void set_activation_tap(ActivationTap tap);
    void set_work_limits(WorkLimits limits);

    // KV cache tokens currently held.
    int64_t cached_tokens() const;
    // Tokens every layer's KV cache can hold without growing (generate() reserves prompt + max_new_tokens up front,
    // so decode steps never copy the cache).
    int64_t kv_capacity_tokens() const;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

// 3D rope position ids exactly as the reference get_rope_index: returns [3, S] row-major and the rope delta.
// Fails when the media tokens do not match the grids.
Status compute_rope_index(const ModelConfig& cfg, const ModelInputs& in, std::vector<int64_t>* positions,
                          int64_t* rope_delta);

} // namespace glmv
