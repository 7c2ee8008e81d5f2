// Every cap on sizes read from untrusted media files, in one place (reliability.md §10.1).
#pragma once

#include <cstdint>

namespace glmv::media::limits {

// Images. Declared dimensions are checked against these before any pixel buffer is allocated.
inline constexpr uint64_t image_max_file_bytes     = 256ull << 20;     // compressed size
inline constexpr int      image_max_side_px        = 32768;            // each of width, height
inline constexpr int64_t  image_max_pixels         = 89'478'485;       // Pillow's decompression-bomb warning level
inline constexpr uint64_t image_max_metadata_bytes = 1u << 20;         // one EXIF/ICC/text chunk
inline constexpr uint64_t image_max_decoder_bytes  = 384ull << 20;     // libjpeg/libpng working memory

// Video.
inline constexpr int64_t  video_probe_bytes        = 5'000'000;        // AVFormatContext.probesize
inline constexpr int64_t  video_analyze_us         = 5'000'000;        // analyzeduration, 5 s
inline constexpr int64_t  video_max_frame_pixels   = 7680 * 4320;      // 8K still opens
inline constexpr int      video_max_side_px        = 16384;
inline constexpr int      video_max_sampled_frames = 600;              // 2 fps × 300 s (HF sampler)
inline constexpr int      video_max_streams        = 64;
inline constexpr int      video_decode_threads     = 4;
inline constexpr int      video_interrupt_poll_ms  = 100;              // AVIOInterruptCB is polled at least this often
inline constexpr double   video_max_duration_s     = 48.0 * 3600.0;    // longer claims are treated as corrupt
inline constexpr int64_t  video_max_decode_steps   = 20'000;           // packets read per sampled frame, at most

// PDF.
inline constexpr uint64_t pdf_max_file_bytes         = 1ull << 30;
inline constexpr int      pdf_max_pages_document     = 2000;
inline constexpr int      pdf_max_pages_request      = 300;
inline constexpr double   pdf_default_dpi            = 180.0;          // as the official GLM-V demo
inline constexpr double   pdf_min_dpi                = 1.0;
inline constexpr double   pdf_max_dpi                = 1200.0;
inline constexpr int64_t  pdf_default_max_pixels     = 9'633'792;      // GLM-4.1V longest_edge
inline constexpr uint64_t pdf_max_text_bytes_page    = 1u << 20;
inline constexpr uint64_t pdf_max_text_bytes_total   = 16u << 20;

// Office conversion.
inline constexpr int      office_convert_timeout_s   = 180;
inline constexpr uint64_t office_max_file_bytes      = 256ull << 20;

} // namespace glmv::media::limits
