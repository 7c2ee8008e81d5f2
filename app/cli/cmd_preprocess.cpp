// glmv-cli preprocess: media file(s) → the model's pixel inputs, exactly as the reference processor makes them.
//
//   glmv-cli preprocess --model DIR (--image F [--image F2 …] | --video F | --pdf F [--pages A-B] [--dpi D]
//                       [--max-pages N]) --out OUT.safetensors
//
// Writes pixel_values (f32 [N,1176]) + image_grid_thw (i64 [k,3], one row per image or PDF page), or
// pixel_values_videos + video_grid_thw ([1,3]). Settings come from DIR/preprocessor_config.json and
// DIR/video_preprocessor_config.json. The last stdout line is JSON: for a video {"indices":[…],"timestamps":[…]},
// otherwise {"grids":[[1,gh,gw],…],"rows":N}. Office documents given to --pdf are converted with LibreOffice first.
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "command.h"
#include "glmv/inference/preprocess.h"
#include "glmv/inference/safetensors.h"
#include "glmv/media/image.h"
#include "glmv/media/office.h"
#include "glmv/media/pdf.h"
#include "glmv/media/video.h"

namespace {

using namespace glmv;
namespace fs = std::filesystem;

int write_batch(const PixelBatch& batch, const char* values_name, const char* grid_name, const std::string& out) {
    std::vector<int64_t> grid;
    for (auto& g : batch.grids) grid.insert(grid.end(), g.begin(), g.end());
    SafetensorsWriter w;
    w.set_metadata("format", "pt");
    w.add_f32(values_name, {batch.n_rows, batch.row_len}, batch.values.data());
    w.add_i64(grid_name, {int64_t(batch.grids.size()), 3}, grid.data());
    if (Status s = w.write(out); !s.ok()) return cli::fail(s.to_string());
    return 0;
}

nlohmann::json grids_json(const PixelBatch& batch) {
    nlohmann::json g = nlohmann::json::array();
    for (auto& row : batch.grids) g.push_back({row[0], row[1], row[2]});
    return g;
}

int run_images(const std::vector<std::string>& files, const ImageProcessorConfig& cfg, const std::string& out) {
    PixelBatch batch;
    for (const std::string& f : files) {
        auto img = media::load_image(f);
        if (!img) return cli::fail(img.status().message());
        auto pv = preprocess_image({img->rgb.data(), img->width, img->height}, cfg);
        if (!pv) return cli::fail(f + ": " + pv.status().message());
        if (Status s = append_pixels(batch, std::move(*pv)); !s.ok()) return cli::fail(s.message());
    }
    if (int rc = write_batch(batch, "pixel_values", "image_grid_thw", out)) return rc;
    std::printf("%s\n", nlohmann::json{{"grids", grids_json(batch)}, {"rows", batch.n_rows}}.dump().c_str());
    return 0;
}

int run_pdf(std::string file, const cli::Args& args, const ImageProcessorConfig& cfg, const std::string& out) {
    media::PdfRenderParams params;
    params.max_pixels = cfg.max_pixels; // a page never exceeds the model's pixel budget
    if (auto pages = args.get("pages")) {
        auto range = media::parse_page_range(*pages);
        if (!range) return cli::fail(range.status().message());
        params.first_page = range->first;
        params.last_page  = range->second;
    }
    long long max_pages = params.max_pages;
    if (!args.get_int("max-pages", &max_pages) || !args.get_double("dpi", &params.dpi)) return 2;
    params.max_pages = int(std::clamp<long long>(max_pages, 1, media::limits::pdf_max_pages_document));
    // Office documents become a PDF in a temporary folder first.
    fs::path tmp;
    if (media::is_office_document(file)) {
        tmp = fs::temp_directory_path() / ("glmv-office-" + std::to_string(::getpid()));
        fs::create_directories(tmp);
        auto pdf = media::convert_office_to_pdf(file, tmp.string());
        if (!pdf) {
            fs::remove_all(tmp);
            return cli::fail(pdf.status().message());
        }
        file = *pdf;
    }
    auto doc = media::load_pdf(file, params);
    if (!tmp.empty()) fs::remove_all(tmp);
    if (!doc) return cli::fail(doc.status().message());
    PixelBatch     batch;
    nlohmann::json pages = nlohmann::json::array();
    for (auto& page : doc->pages) {
        auto pv = preprocess_image({page.image.rgb.data(), page.image.width, page.image.height}, cfg);
        if (!pv) return cli::fail("page " + std::to_string(page.number) + ": " + pv.status().message());
        if (Status s = append_pixels(batch, std::move(*pv)); !s.ok()) return cli::fail(s.message());
        pages.push_back(page.number);
    }
    if (int rc = write_batch(batch, "pixel_values", "image_grid_thw", out)) return rc;
    std::printf("%s\n", nlohmann::json{{"grids", grids_json(batch)}, {"rows", batch.n_rows}, {"pages", pages},
                                       {"n_pages", doc->n_pages}}
                            .dump()
                            .c_str());
    return 0;
}

int run_video(const std::string& file, const ImageProcessorConfig& cfg, const std::string& out) {
    auto info = media::probe_video(file);
    if (!info) return cli::fail(info.status().message());
    media::VideoSamplingParams sampling{cfg.fps, cfg.max_duration_s};
    auto indices = media::sample_frame_indices(info->n_frames, info->fps, info->duration_s, sampling);
    if (indices.empty()) return cli::fail(file + ": the video has no frames");
    media::VideoDecodeParams params;
    // Shrink huge frames right after decoding, but keep 2× the final size per side so the exact bicubic resize
    // still does the last step (the early shrink only matters for frames far above the budget).
    auto target = smart_resize(int64_t(indices.size()), info->height, info->width, cfg.temporal_patch_size,
                               cfg.factor(), cfg.min_pixels, cfg.max_pixels);
    if (!target) return cli::fail(file + ": " + target.status().message());
    params.max_frame_pixels = 4 * int64_t(target->height) * target->width;
    auto frames = media::decode_video_frames(file, indices, params);
    if (!frames) return cli::fail(frames.status().message());
    std::vector<RgbView> views;
    for (auto& f : *frames) views.push_back({f.image.rgb.data(), f.image.width, f.image.height});
    auto pv = preprocess_video(views, cfg);
    if (!pv) return cli::fail(file + ": " + pv.status().message());
    PixelBatch batch;
    if (Status s = append_pixels(batch, std::move(*pv)); !s.ok()) return cli::fail(s.message());
    if (int rc = write_batch(batch, "pixel_values_videos", "video_grid_thw", out)) return rc;
    nlohmann::json ts = nlohmann::json::array();
    for (auto& f : *frames) ts.push_back(f.timestamp_s);
    std::printf("%s\n", nlohmann::json{{"indices", indices}, {"timestamps", ts}}.dump().c_str());
    return 0;
}

int run_preprocess(cli::Args& args) {
    auto model = args.get("model");
    auto out   = args.get("out");
    auto images = args.get_all("image");
    auto video  = args.get("video");
    auto pdf    = args.get("pdf");
    const int n_inputs = int(!images.empty()) + int(video.has_value()) + int(pdf.has_value());
    if (!model || !out || n_inputs != 1) {
        std::fprintf(stderr, "usage: glmv-cli preprocess --model DIR (--image F | --video F | --pdf F [--pages A-B]) "
                             "--out OUT.safetensors\n");
        return 2;
    }
    if (video) {
        auto cfg = load_video_processor_config(*model + "/video_preprocessor_config.json");
        if (!cfg) return cli::fail(cfg.status().message());
        return run_video(*video, *cfg, *out);
    }
    auto cfg = load_image_processor_config(*model + "/preprocessor_config.json");
    if (!cfg) return cli::fail(cfg.status().message());
    if (pdf) return run_pdf(*pdf, args, *cfg, *out);
    return run_images(images, *cfg, *out);
}

cli::Registrar reg("preprocess",
                   "--model DIR (--image F | --video F | --pdf F [--pages A-B]) --out OUT.safetensors   pixel inputs",
                   run_preprocess);

} // namespace
