// Media throughput (one JSON line per result, as every bench_* does):
//   - a 4000×3000 JPEG → pixel_values (decode, preprocess, total) with the real GLM-4.1V settings;
//   - 1 minute and 10 minutes of 1080p H.264 → the 120 / 600 sampled frames (seek-based decoding), with the ratio;
//   - a 50-page PDF rendered at 180 dpi.
// Inputs are generated at run time with the ffmpeg tool (the 10-minute clip is the 1-minute one looped by stream
// copy, so making it costs nothing) and with a small PDF writer below. Each case runs with one thread and with
// OpenMP's default team, to show the scaling across frames/pages.
//
//   bench_media [--quick]      (--quick: 10 s / 100 s clips and 10 PDF pages, for a smoke run)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>
#include <omp.h>

#include "glmv/inference/preprocess.h"
#include "glmv/media/image.h"
#include "glmv/media/pdf.h"
#include "glmv/media/video.h"

namespace fs = std::filesystem;
using clk    = std::chrono::steady_clock;

namespace {

double seconds_since(clk::time_point t0) { return std::chrono::duration<double>(clk::now() - t0).count(); }

bool sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; }

void emit(nlohmann::json j) { std::printf("%s\n", j.dump().c_str()); std::fflush(stdout); }

template <class F> double best_of(int reps, F&& f) {
    double best = 1e30;
    for (int i = 0; i < reps; ++i) {
        auto t0 = clk::now();
        if (!f()) return -1;
        best = std::min(best, seconds_since(t0));
    }
    return best;
}

// A plain PDF writer: `pages` A4 pages, each with a heading, 40 lines of text and a few filled rectangles.
void write_pdf(const std::string& path, int pages) {
    std::vector<std::string> objs;
    objs.push_back("<< /Type /Catalog /Pages 2 0 R >>");
    std::string kids;
    for (int i = 0; i < pages; ++i) kids += std::to_string(4 + 2 * i) + " 0 R ";
    objs.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(pages) + " >>");
    objs.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
    for (int i = 0; i < pages; ++i) {
        std::string c = "BT /F1 24 Tf 60 780 Td (Benchmark page " + std::to_string(i + 1) + ") Tj ET\n";
        for (int l = 0; l < 40; ++l)
            c += "BT /F1 11 Tf 60 " + std::to_string(740 - l * 16) +
                 " Td (Line " + std::to_string(l) + ": the quick brown fox jumps over the lazy dog 0123456789) Tj ET\n";
        for (int r = 0; r < 6; ++r)
            c += std::to_string(0.15 * r) + " 0.4 0.7 rg " + std::to_string(60 + r * 80) + " 60 60 60 re f\n";
        objs.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
                       "/Contents " + std::to_string(5 + 2 * i) + " 0 R >>");
        objs.push_back("<< /Length " + std::to_string(c.size()) + " >>\nstream\n" + c + "\nendstream");
    }
    std::string         out = "%PDF-1.4\n";
    std::vector<size_t> offsets;
    for (size_t i = 0; i < objs.size(); ++i) {
        offsets.push_back(out.size());
        out += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
    }
    size_t xref = out.size();
    out += "xref\n0 " + std::to_string(objs.size() + 1) + "\n0000000000 65535 f \n";
    for (size_t o : offsets) {
        char line[32];
        std::snprintf(line, sizeof(line), "%010zu 00000 n \n", o);
        out += line;
    }
    out += "trailer\n<< /Size " + std::to_string(objs.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
           std::to_string(xref) + "\n%%EOF\n";
    std::ofstream(path, std::ios::binary) << out;
}

void bench_jpeg(const fs::path& dir, const glmv::ImageProcessorConfig& cfg) {
    const std::string jpg = (dir / "photo.jpg").string();
    if (!sh("ffmpeg -v error -y -f lavfi -i testsrc2=s=4000x3000 -frames:v 1 -q:v 3 " + jpg)) {
        emit({{"bench", "jpeg_4000x3000"}, {"skipped", "ffmpeg could not make the JPEG"}});
        return;
    }
    glmv::media::Image img;
    double decode = best_of(3, [&] {
        auto r = glmv::media::load_image(jpg);
        if (r) img = std::move(*r);
        return bool(r);
    });
    glmv::PixelValues pv;
    double preprocess = best_of(3, [&] {
        auto r = glmv::preprocess_image({img.rgb.data(), img.width, img.height}, cfg);
        if (r) pv = std::move(*r);
        return bool(r);
    });
    emit({{"bench", "jpeg_4000x3000_to_pixel_values"}, {"decode_s", decode}, {"preprocess_s", preprocess},
          {"total_s", decode + preprocess}, {"grid", pv.grid_thw}, {"rows", pv.n_rows},
          {"threads", omp_get_max_threads()}});
}

void bench_video(const fs::path& dir, int short_s, int loops, const glmv::ImageProcessorConfig& vcfg) {
    const std::string one = (dir / "clip_1.mp4").string(), many = (dir / "clip_n.mp4").string();
    // 1080p, 30 fps, H.264 with a key frame every 2 s and B-frames (a typical camera/phone export).
    auto t0 = clk::now();
    bool ok = sh("ffmpeg -v error -y -f lavfi -i testsrc2=s=1920x1080:r=30:d=" + std::to_string(short_s) +
                 " -c:v libx264 -preset ultrafast -bf 2 -g 60 -pix_fmt yuv420p " + one) &&
              sh("ffmpeg -v error -y -stream_loop " + std::to_string(loops - 1) + " -i " + one + " -c copy " + many);
    if (!ok) {
        emit({{"bench", "video_1080p_h264"}, {"skipped", "ffmpeg could not encode H.264"}});
        return;
    }
    const double make_s = seconds_since(t0);
    double       per_clip[2] = {0, 0};
    for (int which = 0; which < 2; ++which) {
        const std::string& path = which == 0 ? one : many;
        auto               info = glmv::media::probe_video(path);
        if (!info) {
            emit({{"bench", "video"}, {"error", info.status().to_string()}});
            return;
        }
        auto idx    = glmv::media::sample_frame_indices(info->n_frames, info->fps, info->duration_s,
                                                        {vcfg.fps, vcfg.max_duration_s});
        auto target = glmv::smart_resize(int64_t(idx.size()), info->height, info->width, 2, 28, vcfg.min_pixels,
                                         vcfg.max_pixels);
        for (int threads : {1, omp_get_max_threads()}) {
            if (threads == 1 && omp_get_max_threads() == 1 && which == 1) continue;
            glmv::media::VideoDecodeParams p;
            p.n_threads        = threads;
            p.max_frame_pixels = target ? 4 * int64_t(target->height) * target->width : 0; // as glmv-cli does
            size_t n_frames    = 0;
            double s           = best_of(1, [&] {
                auto f = glmv::media::decode_video_frames(path, idx, p);
                if (f) n_frames = f->size();
                return bool(f);
            });
            if (threads == omp_get_max_threads()) per_clip[which] = s;
            emit({{"bench", which == 0 ? "video_1080p_h264_short" : "video_1080p_h264_long"},
                  {"duration_s", info->duration_s}, {"sampled_frames", n_frames}, {"threads", threads},
                  {"decode_s", s}, {"ms_per_sampled_frame", 1000.0 * s / std::max<size_t>(n_frames, 1)},
                  {"frame_out", target ? std::to_string(target->width) + "x" + std::to_string(target->height) : "?"}});
        }
    }
    // Baseline: the long clip decoded straight through, without seeking.
    {
        auto info = glmv::media::probe_video(many);
        auto idx  = glmv::media::sample_frame_indices(info->n_frames, info->fps, info->duration_s,
                                                      {vcfg.fps, vcfg.max_duration_s});
        glmv::media::VideoDecodeParams p;
        p.seek             = false;
        p.max_frame_pixels = 364 * 196 * 4;
        double s           = best_of(1, [&] { return bool(glmv::media::decode_video_frames(many, idx, p)); });
        emit({{"bench", "video_1080p_h264_long_no_seek"}, {"threads", omp_get_max_threads()}, {"decode_s", s},
              {"seek_speedup", s / std::max(per_clip[1], 1e-9)}});
    }
    emit({{"bench", "video_seek_scaling"}, {"long_over_short_duration", double(loops)},
          {"long_over_short_time", per_clip[1] / std::max(per_clip[0], 1e-9)}, {"clip_generation_s", make_s}});
}

void bench_pdf(const fs::path& dir, int pages) {
    const std::string pdf = (dir / "doc.pdf").string();
    write_pdf(pdf, pages);
    for (int threads : {1, omp_get_max_threads()}) {
        glmv::media::PdfRenderParams p;
        p.n_threads   = threads;
        p.max_pages   = pages;
        int64_t px    = 0;
        size_t  text  = 0;
        double  s     = best_of(1, [&] {
            auto d = glmv::media::load_pdf(pdf, p);
            if (!d) {
                std::fprintf(stderr, "%s\n", d.status().to_string().c_str());
                return false;
            }
            px = int64_t(d->pages[0].image.width) * d->pages[0].image.height;
            for (auto& pg : d->pages) text += pg.text.size();
            return true;
        });
        emit({{"bench", "pdf_render"}, {"pages", pages}, {"dpi", p.dpi}, {"threads", threads}, {"total_s", s},
              {"ms_per_page", 1000.0 * s / pages}, {"page_pixels", px}, {"text_bytes", text}});
    }
}

} // namespace

int main(int argc, char** argv) {
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    fs::path   dir   = fs::temp_directory_path() / ("glmv-bench-media-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    // The real GLM-4.1V settings (shared/glm4v-assets), with the defaults as a fallback.
    glmv::ImageProcessorConfig cfg, vcfg = *glmv::parse_processor_config("{}", true);
    bench_jpeg(dir, cfg);
    bench_video(dir, quick ? 10 : 60, 10, vcfg);
    bench_pdf(dir, quick ? 10 : 50);
    fs::remove_all(dir);
    return 0;
}
