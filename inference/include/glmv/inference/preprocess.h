// Image and video preprocessing for GLM-4.1V, matching Hugging Face's Glm4vImageProcessor /
// Glm4vVideoProcessor (torchvision backend) — spec §3–§4.
//
//   auto cfg = glmv::load_image_processor_config(model_dir + "/preprocessor_config.json");
//   if (!cfg) return cfg.status();
//   glmv::RgbView view{img.rgb.data(), img.width, img.height};
//   auto pv = glmv::preprocess_image(view, *cfg);          // pv->values: [N, 1176] f32, pv->grid_thw = (1, gh, gw)
//
//   auto vcfg = glmv::load_video_processor_config(model_dir + "/video_preprocessor_config.json");
//   std::vector<glmv::RgbView> frames = ...;                 // the sampled frames, an even count
//   auto pvv = glmv::preprocess_video(frames, *vcfg);        // [N, 1176], grid_thw = (T/2, gh, gw)
//
// The pipeline per frame: smart_resize → bicubic resize (a = −0.5, antialiased, on uint8 exactly like torch's
// _upsample_bicubic2d_aa for uint8 input: int16 fixed-point weights, horizontal pass then vertical pass, each rounded
// to uint8) → x·rescale_factor → (x − mean)/std → patchify. Rows are ordered (t, block row, block col, row in block,
// col in block) and each row holds (channel, temporal, py, px) = 3·2·14·14 = 1176 values.
//
// The input is a plain RGB8 view; this header knows nothing about decoders (media/ produces the buffers).
// Threading: every function is reentrant; preprocess_video parallelises across frames with OpenMP.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "glmv/common/status.h"

namespace glmv {

// A tightly packed RGB8 image: data[(y·width + x)·3 + c]. The caller keeps the memory alive.
struct RgbView {
    const uint8_t* data   = nullptr;
    int            width  = 0;
    int            height = 0;
};

// Processor settings (preprocessor_config.json / video_preprocessor_config.json). Defaults are the real
// GLM-4.1V-9B-Thinking image settings.
struct ImageProcessorConfig {
    int64_t               min_pixels          = 12544;   // size.shortest_edge
    int64_t               max_pixels          = 9633792; // size.longest_edge
    int                   patch_size          = 14;
    int                   merge_size          = 2;
    int                   temporal_patch_size = 2;
    double                rescale_factor      = 1.0 / 255.0;
    bool                  do_rescale          = true;
    bool                  do_normalize        = true;
    bool                  do_resize           = true;
    std::array<double, 3> image_mean          = {0.48145466, 0.4578275, 0.40821073};
    std::array<double, 3> image_std           = {0.26862954, 0.26130258, 0.27577711};
    // Video only (ignored for images): frame sampling, used by media's sampler through the caller.
    double                fps                 = 2.0;
    double                max_duration_s      = 300.0;

    int factor() const { return patch_size * merge_size; }                          // 28
    int row_len() const { return 3 * temporal_patch_size * patch_size * patch_size; } // 1176
};

// Parses a Hugging Face processor config file (≤ 1 MiB). Unknown keys are ignored; a present key of the wrong type
// or an out-of-range value (patch_size ∉ [1, 1024], std ≤ 0, min_pixels > max_pixels, …) is an error.
Result<ImageProcessorConfig> load_image_processor_config(const std::string& path);
// The same for video_preprocessor_config.json; defaults differ (max_pixels 47,040,000; fps 2; max_duration 300).
Result<ImageProcessorConfig> load_video_processor_config(const std::string& path);
// Parses from JSON text (used by the loaders and tests). `video` selects the video defaults.
Result<ImageProcessorConfig> parse_processor_config(const std::string& json_text, bool video);

struct ResizedSize {
    int height = 0;
    int width  = 0;
};

// HF smart_resize: the (height, width), multiples of `factor`, closest to the input with
// num_frames·h·w within [min_pixels, max_pixels]. Errors: a non-positive size, num_frames < temporal_factor,
// aspect ratio > 200 (HF raises too), or a result beyond 2^15 per side.
Result<ResizedSize> smart_resize(int64_t num_frames, int64_t height, int64_t width, int temporal_factor, int factor,
                                 int64_t min_pixels, int64_t max_pixels);

// Resizes RGB8 `src` to out_width × out_height into `dst` (out_height·out_width·3 bytes) with torch's antialiased
// bicubic (a = −0.5) on uint8 (see the file comment). Equal sizes copy. Sizes must be positive.
void resize_bicubic_aa_u8(RgbView src, int out_width, int out_height, uint8_t* dst);

// Float reference of the same resampling (double weights, no intermediate rounding); the parity tests use it as the
// oracle the fixed-point path is checked against (within 1 grey level). dst: out_height·out_width·3 floats, 0..255.
void resize_bicubic_aa_ref(RgbView src, int out_width, int out_height, float* dst);

// pixel_values for one image or one video.
struct PixelValues {
    std::vector<float>     values;   // [n_rows, row_len] row-major
    int64_t                n_rows  = 0;
    int64_t                row_len = 0; // 1176
    std::array<int64_t, 3> grid_thw = {0, 0, 0};
};

// One still image → pixel_values [gh·gw, 1176], grid (1, gh, gw).
Result<PixelValues> preprocess_image(RgbView image, const ImageProcessorConfig& cfg);

// Sampled video frames (all the same size; an odd count has its last frame repeated as HF pads) →
// pixel_values_videos [(T/2)·gh·gw, 1176], grid (T/2, gh, gw). smart_resize uses num_frames = T.
Result<PixelValues> preprocess_video(std::span<const RgbView> frames, const ImageProcessorConfig& cfg);

// Several images (or PDF pages) as one batch: pixel_values rows concatenated, one grid row per image.
struct PixelBatch {
    std::vector<float>                  values; // [Σ n_rows, row_len]
    int64_t                             n_rows  = 0;
    int64_t                             row_len = 0;
    std::vector<std::array<int64_t, 3>> grids;  // [k, 3]
};
// Appends `pv` to `batch` (row lengths must agree).
Status append_pixels(PixelBatch& batch, PixelValues&& pv);

} // namespace glmv
