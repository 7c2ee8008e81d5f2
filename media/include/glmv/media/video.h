// Video: probe a file with FFmpeg, choose frames exactly like Hugging Face's Glm4vVideoProcessor.sample_frames,
// and decode only those frames (by seeking), each converted to RGB8 at once.
//
//   std::atomic<bool> cancel{false};                        // set from any thread to abort I/O and decoding
//   glmv::media::VideoDecodeParams dp;
//   dp.cancel = &cancel;
//   dp.max_frame_pixels = 2 * 78400;                        // optional early downscale (0 = full resolution)
//   auto v = glmv::media::load_video("clip.mp4", {}, dp);    // probe + sample (2 fps, ≤ 300 s) + decode
//   if (!v) show(v.status().message());
//   for (auto& f : v->frames) use(f.image, f.index, f.timestamp_s);
//
// Sampling (spec §4): duration = container/stream duration, or round((frames − 1)/fps) + 1 when unknown; if
// duration ≤ max_duration: n = max(⌊duration·fps_s⌋, 1) indices min(last, ⌈i·fps/fps_s⌉); otherwise
// n = max_duration·fps_s targets linspace(0, duration, n) → min(last, ⌈t·fps⌉) (every frame when n ≥ frames);
// duplicates dropped keeping order; an odd count repeats the last index. Timestamps are index / fps.
//
// Only the first video stream is used (cover-art "attached pictures" are not video). Rotation metadata (the
// display matrix) is applied to the decoded frames, so width/height in VideoInfo are the displayed size.
// Decoding seeks to the key frame before each sampled frame when that skips work (using the container's index when
// it has one), so a 10-minute clip costs far less than ten 1-minute clips. With OpenMP the sampled frames are split
// into contiguous runs, each decoded by its own demuxer/decoder on its own thread.
//
// Threading: functions are reentrant. Cancellation: the flag is polled by FFmpeg's AVIOInterruptCB during I/O and
// between frames; a cancelled call returns ErrorCode::cancelled.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "glmv/common/status.h"
#include "glmv/media/image.h"
#include "glmv/media/limits.h"

namespace glmv::media {

// Where the video comes from: a file path, or bytes in memory (the caller keeps them alive; used by the fuzzer).
struct VideoSource {
    std::string              path;
    std::span<const uint8_t> bytes;
    VideoSource(std::string p) : path(std::move(p)) {}
    VideoSource(const char* p) : path(p) {}
    VideoSource(std::span<const uint8_t> b) : bytes(b) {}
    std::string label() const { return path.empty() ? std::string("<memory>") : path; }
};

struct VideoInfo {
    double      fps          = 0;   // average frame rate of the stream
    int64_t     n_frames     = 0;   // stream frame count, or round(duration·fps) when the container has none
    double      duration_s   = 0;   // stream or container duration; 0 when unknown
    int         width        = 0;   // displayed size (after rotation)
    int         height       = 0;
    int         rotation_deg = 0;   // clockwise rotation applied to decoded frames: 0, 90, 180 or 270
    std::string codec;              // "h264", "vp9", "ffv1", …
    std::string container;          // "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", …
};

struct VideoSamplingParams {
    double fps            = 2.0;   // video_preprocessor_config.json "fps"
    double max_duration_s = 300.0; // "max_duration"
};

// The HF sampler (see the file comment). Empty when n_frames ≤ 0 or fps ≤ 0. Never more than
// max(⌊max_duration·fps_s⌋, ⌊duration·fps_s⌋ + 1) entries (600 with the defaults for long videos).
std::vector<int64_t> sample_frame_indices(int64_t n_frames, double fps, double duration_s,
                                          const VideoSamplingParams& params = {});

struct VideoDecodeParams {
    // Frames larger than this many pixels are shrunk (area filter, aspect kept) right after decoding, before they
    // are stored: keeps 600 sampled 4K frames from costing gigabytes. 0 = keep the decoded size.
    int64_t                  max_frame_pixels = 0;
    int                      n_threads        = 0;       // parallel decoders; 0 = OpenMP's default
    bool                     seek             = true;    // false: decode straight through (benchmark baseline)
    const std::atomic<bool>* cancel           = nullptr; // optional
};

struct VideoFrame {
    Image   image;
    int64_t index       = 0; // frame number in the stream
    double  timestamp_s = 0; // index / fps
};

struct SampledVideo {
    VideoInfo               info;
    std::vector<int64_t>    indices;    // sampled frame numbers (even count)
    std::vector<double>     timestamps; // index / fps, seconds
    std::vector<VideoFrame> frames;     // one per index, in order
};

// Opens the container and reads the first video stream's parameters. Errors: not_found, bad_format (not a video,
// truncated, no video stream), unsupported (no decoder), out_of_range (frame size over the caps), cancelled.
Result<VideoInfo> probe_video(const VideoSource& source, const std::atomic<bool>* cancel = nullptr);

// Decodes the frames with the given indices (ascending, as sample_frame_indices returns them; at most
// limits::video_max_sampled_frames). Indices beyond the real end give the last decodable frame.
Result<std::vector<VideoFrame>> decode_video_frames(const VideoSource& source, std::span<const int64_t> indices,
                                                    const VideoDecodeParams& params = {});

// probe_video + sample_frame_indices + decode_video_frames.
Result<SampledVideo> load_video(const VideoSource& source, const VideoSamplingParams& sampling = {},
                                const VideoDecodeParams& params = {});

} // namespace glmv::media
