// Video probing and seek-based decoding of sampled frames with FFmpeg.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

#include <omp.h>

extern "C" {
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/log.h>
}

#include "ffmpeg_util.h"
#include "glmv/common/log.h"
#include "glmv/media/video.h"

namespace glmv::media {

namespace {

using namespace detail;

// FFmpeg prints to stderr by default; libraries must not print, so its messages go to our log sink (debug).
void route_ffmpeg_logs() {
    static std::once_flag once;
    std::call_once(once, [] {
        av_log_set_callback([](void* avcl, int level, const char* fmt, va_list vl) {
            if (level > AV_LOG_ERROR) return;
            char line[512];
            int  prefix = 1;
            av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &prefix);
            GLMV_LOG_DEBUG("ffmpeg: %s", line);
        });
    });
}

// Memory-backed AVIOContext for VideoSource::bytes.
struct MemoryInput {
    std::span<const uint8_t> bytes;
    int64_t                  pos = 0;
};

int mem_read(void* opaque, uint8_t* buf, int n) {
    auto*   m    = static_cast<MemoryInput*>(opaque);
    int64_t left = int64_t(m->bytes.size()) - m->pos;
    if (left <= 0) return AVERROR_EOF;
    int take = int(std::min<int64_t>(left, n));
    std::memcpy(buf, m->bytes.data() + m->pos, size_t(take));
    m->pos += take;
    return take;
}

int64_t mem_seek(void* opaque, int64_t offset, int whence) {
    auto* m = static_cast<MemoryInput*>(opaque);
    whence &= ~AVSEEK_FORCE;
    if (whence == AVSEEK_SIZE) return int64_t(m->bytes.size());
    int64_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? int64_t(m->bytes.size()) : 0;
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) return AVERROR(EINVAL);
    int64_t to = base + offset;
    if (to < 0 || to > int64_t(m->bytes.size())) return AVERROR(EINVAL);
    m->pos = to;
    return to;
}

int interrupt_cb(void* opaque) {
    auto* flag = static_cast<const std::atomic<bool>*>(opaque);
    return flag && flag->load(std::memory_order_relaxed) ? 1 : 0;
}

bool is_cancelled(const std::atomic<bool>* c) { return c && c->load(std::memory_order_relaxed); }

Status cancelled_status() { return make_error(ErrorCode::cancelled, "video decoding was cancelled"); }

// One demuxer + decoder on the first video stream. Move-free; used by one thread.
class StreamReader {
  public:
    ~StreamReader() {
        dec_.reset();
        if (fmt_) avformat_close_input(&fmt_);
        if (avio_) {
            av_freep(&avio_->buffer);
            avio_context_free(&avio_);
        }
    }

    Status open(const VideoSource& src, const std::atomic<bool>* cancel);
    void   allow_seek(bool on) { allow_seek_ = on; }
    const VideoInfo& info() const { return info_; }
    // The frame with number `index` (time index/fps), or the last frame when the stream ends before it.
    Result<Image> frame_at(int64_t index, int64_t max_pixels);

  private:
    Status  open_decoder();
    Status  seek_to(double t);
    // Decodes the next frame into cur_; false at end of stream. Packets whose time is before `skip_before` are
    // decoded only if other frames reference them (skip_frame = NONREF): a B-frame we will not show costs nothing.
    Result<bool> decode_next(double skip_before);
    bool    should_seek(double t) const;
    double  frame_time(const AVFrame* f) const;
    int64_t to_stream_ts(double t) const;

    const std::atomic<bool>* cancel_ = nullptr;
    MemoryInput              mem_;
    AVIOContext*             avio_   = nullptr;
    AVFormatContext*         fmt_    = nullptr;
    AVStream*                st_     = nullptr;
    CodecCtxPtr              dec_;
    PacketPtr                pkt_{av_packet_alloc()};
    FramePtr                 cur_{av_frame_alloc()}; // last decoded frame
    FramePtr                 next_{av_frame_alloc()};
    SwsPtr                   sws_;
    VideoInfo                info_;
    int                      orientation_ = 1;       // EXIF-style code for the rotation (1, 3, 6, 8)
    double                   cur_time_    = -1;      // time of cur_ in seconds from the stream start; <0: none
    bool                     flushing_    = false;   // sent the end-of-stream packet
    bool                     eof_         = false;
    bool                     allow_seek_  = true;
};

Status StreamReader::open(const VideoSource& src, const std::atomic<bool>* cancel) {
    route_ffmpeg_logs();
    cancel_ = cancel;
    if (!pkt_ || !cur_ || !next_) return make_error(ErrorCode::out_of_memory, "cannot allocate FFmpeg frames");
    fmt_ = avformat_alloc_context();
    if (!fmt_) return make_error(ErrorCode::out_of_memory, "cannot allocate a demuxer");
    fmt_->interrupt_callback.callback = interrupt_cb;
    fmt_->interrupt_callback.opaque   = const_cast<std::atomic<bool>*>(cancel);
    fmt_->probesize                   = limits::video_probe_bytes;
    fmt_->max_analyze_duration        = limits::video_analyze_us;
    if (src.path.empty()) {
        if (src.bytes.empty()) return make_error(ErrorCode::bad_format, "the file is empty");
        mem_.bytes   = src.bytes;
        auto* buffer = static_cast<uint8_t*>(av_malloc(64 * 1024));
        if (!buffer) return make_error(ErrorCode::out_of_memory, "out of memory");
        avio_ = avio_alloc_context(buffer, 64 * 1024, 0, &mem_, mem_read, nullptr, mem_seek);
        if (!avio_) {
            av_free(buffer);
            return make_error(ErrorCode::out_of_memory, "out of memory");
        }
        fmt_->pb = avio_;
    }
    AVDictionary* opts = nullptr;
    // Refuse network/protocol tricks inside playlists and the like: local files and memory only.
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    int err = avformat_open_input(&fmt_, src.path.empty() ? nullptr : src.path.c_str(), nullptr, &opts);
    av_dict_free(&opts);
    if (err < 0) {
        // avformat_open_input frees the context on failure.
        fmt_ = nullptr;
        if (is_cancelled(cancel)) return cancelled_status();
        if (err == AVERROR(ENOENT)) return make_error(ErrorCode::not_found, "file not found");
        return make_error(ErrorCode::bad_format, "not a video file FFmpeg can read (" + av_error_text(err) + ")");
    }
    if (fmt_->nb_streams > unsigned(limits::video_max_streams))
        return make_error(ErrorCode::out_of_range, "file has " + std::to_string(fmt_->nb_streams) + " streams (limit " +
                                                       std::to_string(limits::video_max_streams) + ")");
    err = avformat_find_stream_info(fmt_, nullptr);
    if (is_cancelled(cancel)) return cancelled_status();
    if (err < 0) return make_error(ErrorCode::bad_format, "cannot read stream information (" + av_error_text(err) + ")");
    for (unsigned i = 0; i < fmt_->nb_streams; ++i) {
        AVStream* s = fmt_->streams[i];
        // Cover art in audio files is a one-picture "video" stream: not a video.
        if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
            st_ = s;
            break;
        }
    }
    if (!st_) return make_error(ErrorCode::bad_format, "the file has no video stream");
    const AVCodecParameters* par = st_->codecpar;
    if (par->width <= 0 || par->height <= 0)
        return make_error(ErrorCode::bad_format, "the video stream has no frame size");
    if (par->width > limits::video_max_side_px || par->height > limits::video_max_side_px ||
        int64_t(par->width) * par->height > limits::video_max_frame_pixels)
        return make_error(ErrorCode::out_of_range, "video frames are " + std::to_string(par->width) + "x" +
                                                       std::to_string(par->height) + ", above the 8K limit");
    AVRational rate = st_->avg_frame_rate;
    if (rate.num <= 0 || rate.den <= 0) rate = st_->r_frame_rate;
    if (rate.num <= 0 || rate.den <= 0) return make_error(ErrorCode::bad_format, "the video stream has no frame rate");
    info_.fps = av_q2d(rate);
    if (!(info_.fps > 0 && info_.fps <= 10000)) return make_error(ErrorCode::bad_format, "implausible frame rate");
    double duration = 0;
    if (st_->duration > 0 && st_->duration != AV_NOPTS_VALUE) duration = double(st_->duration) * av_q2d(st_->time_base);
    else if (fmt_->duration > 0 && fmt_->duration != AV_NOPTS_VALUE) duration = double(fmt_->duration) / AV_TIME_BASE;
    if (!(duration >= 0 && duration <= limits::video_max_duration_s)) duration = 0;
    info_.duration_s = duration;
    if (st_->nb_frames > 0) info_.n_frames = st_->nb_frames;
    else if (duration > 0) info_.n_frames = std::llround(duration * info_.fps);
    if (info_.n_frames <= 0) return make_error(ErrorCode::bad_format, "cannot tell how long the video is");
    if (info_.n_frames > int64_t(limits::video_max_duration_s * info_.fps) + 1)
        return make_error(ErrorCode::out_of_range, "the video claims an implausible number of frames");
    // Display matrix: av_display_rotation_get is counter-clockwise; players rotate by its negation.
    if (const uint8_t* m = av_stream_get_side_data(st_, AV_PKT_DATA_DISPLAYMATRIX, nullptr)) {
        double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(m));
        if (std::isfinite(ccw)) {
            int cw = int(std::lround(-ccw)) % 360;
            if (cw < 0) cw += 360;
            cw = ((cw + 45) / 90 % 4) * 90;
            info_.rotation_deg = cw;
            orientation_       = cw == 90 ? 6 : cw == 180 ? 3 : cw == 270 ? 8 : 1;
        }
    }
    const bool swap = info_.rotation_deg == 90 || info_.rotation_deg == 270;
    info_.width     = swap ? par->height : par->width;
    info_.height    = swap ? par->width : par->height;
    const AVCodecDescriptor* desc = avcodec_descriptor_get(par->codec_id);
    info_.codec     = desc ? desc->name : "unknown";
    info_.container = fmt_->iformat && fmt_->iformat->name ? fmt_->iformat->name : "unknown";
    return {};
}

Status StreamReader::open_decoder() {
    const AVCodec* codec = avcodec_find_decoder(st_->codecpar->codec_id);
    if (!codec) return make_error(ErrorCode::unsupported, "no decoder for the " + info_.codec + " codec in this FFmpeg build");
    dec_.reset(avcodec_alloc_context3(codec));
    if (!dec_) return make_error(ErrorCode::out_of_memory, "cannot allocate a decoder");
    int err = avcodec_parameters_to_context(dec_.get(), st_->codecpar);
    if (err < 0) return make_error(ErrorCode::bad_format, "bad codec parameters (" + av_error_text(err) + ")");
    dec_->max_pixels = limits::video_max_frame_pixels;
    // Each parallel reader gets a share of the cores; FFmpeg's own threads are capped.
    int threads        = std::clamp(omp_get_num_procs() / std::max(1, omp_get_num_threads()), 1,
                                    limits::video_decode_threads);
    dec_->thread_count = threads;
    dec_->pkt_timebase = st_->time_base;
    err                = avcodec_open2(dec_.get(), codec, nullptr);
    if (err < 0) return make_error(ErrorCode::unsupported, "cannot open the " + info_.codec + " decoder (" + av_error_text(err) + ")");
    return {};
}

double StreamReader::frame_time(const AVFrame* f) const {
    int64_t pts = f->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) pts = f->pts;
    if (pts == AV_NOPTS_VALUE) return cur_time_ < 0 ? 0.0 : cur_time_ + 1.0 / info_.fps; // count frames instead
    int64_t start = st_->start_time == AV_NOPTS_VALUE ? 0 : st_->start_time;
    return double(pts - start) * av_q2d(st_->time_base);
}

int64_t StreamReader::to_stream_ts(double t) const {
    int64_t start = st_->start_time == AV_NOPTS_VALUE ? 0 : st_->start_time;
    return start + int64_t(std::llround(t / av_q2d(st_->time_base)));
}

// Seeking is worth it when the key frame before the target lies beyond what we have already decoded; without an
// index, when the gap is large (a seek then costs at most one GOP of decoding).
bool StreamReader::should_seek(double t) const {
    if (cur_time_ < 0) return t > 0; // the first frame of a run: seek even in no-seek mode (parallel runs)
    if (t < cur_time_ - 0.5 / info_.fps) return true; // backwards
    if (!allow_seek_) return false;
    int idx = avformat_index_get_entries_count(st_) > 0
                  ? av_index_search_timestamp(st_, to_stream_ts(t), AVSEEK_FLAG_BACKWARD)
                  : -1;
    if (idx >= 0) {
        const AVIndexEntry* e     = avformat_index_get_entry(st_, idx);
        int64_t             start = st_->start_time == AV_NOPTS_VALUE ? 0 : st_->start_time;
        return e && double(e->timestamp - start) * av_q2d(st_->time_base) > cur_time_ + 0.5 / info_.fps;
    }
    return t - cur_time_ > 2.0;
}

Status StreamReader::seek_to(double t) {
    int err = av_seek_frame(fmt_, st_->index, to_stream_ts(t), AVSEEK_FLAG_BACKWARD);
    if (err < 0) err = avformat_seek_file(fmt_, st_->index, INT64_MIN, to_stream_ts(t), to_stream_ts(t), 0);
    if (is_cancelled(cancel_)) return cancelled_status();
    if (err < 0) {
        // Unseekable input: forward decoding still works for ascending targets; backwards it cannot.
        if (cur_time_ >= 0 && t < cur_time_) return make_error(ErrorCode::unsupported, "the video cannot be seeked");
        return {};
    }
    avcodec_flush_buffers(dec_.get());
    cur_time_ = -1;
    flushing_ = eof_ = false;
    return {};
}

Result<bool> StreamReader::decode_next(double skip_before) {
    for (int64_t steps = 0; steps < limits::video_max_decode_steps; ++steps) {
        if (is_cancelled(cancel_)) return cancelled_status();
        int err = avcodec_receive_frame(dec_.get(), next_.get());
        if (err == 0) {
            double t = frame_time(next_.get());
            std::swap(cur_, next_);
            av_frame_unref(next_.get());
            cur_time_ = t;
            return true;
        }
        if (err == AVERROR_EOF) {
            eof_ = true;
            return false;
        }
        if (err != AVERROR(EAGAIN)) continue; // a corrupt frame: skip it like players do
        if (flushing_) {
            eof_ = true;
            return false;
        }
        err = av_read_frame(fmt_, pkt_.get());
        if (err < 0) {
            if (is_cancelled(cancel_)) return cancelled_status();
            // End of file, or a truncated/corrupt tail: drain what the decoder holds.
            flushing_ = true;
            avcodec_send_packet(dec_.get(), nullptr);
            continue;
        }
        if (pkt_->stream_index == st_->index) {
            const int64_t start = st_->start_time == AV_NOPTS_VALUE ? 0 : st_->start_time;
            const bool    early = pkt_->pts != AV_NOPTS_VALUE &&
                               double(pkt_->pts - start) * av_q2d(st_->time_base) < skip_before;
            dec_->skip_frame = early ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
            avcodec_send_packet(dec_.get(), pkt_.get()); // a bad packet is skipped by the decoder
        }
        av_packet_unref(pkt_.get());
    }
    return make_error(ErrorCode::bad_format, "the video stream yields no frames (corrupt file?)");
}

Result<Image> StreamReader::frame_at(int64_t index, int64_t max_pixels) {
    if (!dec_) GLMV_RETURN_IF_ERROR(open_decoder());
    const double t    = double(index) / info_.fps;
    const double half = 0.5 / info_.fps;
    if (should_seek(t)) GLMV_RETURN_IF_ERROR(seek_to(t));
    // Decode forward to the first frame at or after the target (within half a frame of jitter).
    while (cur_time_ < 0 || cur_time_ < t - half) {
        if (eof_) break;
        auto got = decode_next(t - half);
        if (!got) return got.status();
        if (!*got) break;
    }
    if (cur_time_ < 0 || cur_->width <= 0) return make_error(ErrorCode::bad_format, "no decodable frame at frame " + std::to_string(index));
    int out_w = cur_->width, out_h = cur_->height;
    if (max_pixels > 0 && int64_t(out_w) * out_h > max_pixels) {
        double s = std::sqrt(double(max_pixels) / (double(out_w) * out_h));
        out_w    = std::max(1, int(out_w * s));
        out_h    = std::max(1, int(out_h * s));
    }
    auto img = frame_to_rgb(cur_.get(), out_w, out_h, sws_);
    if (!img) return img.status();
    apply_orientation(*img, orientation_);
    return img;
}

} // namespace

Result<VideoInfo> probe_video(const VideoSource& source, const std::atomic<bool>* cancel) {
    StreamReader r;
    Status       s = r.open(source, cancel);
    if (!s.ok()) return s.with_context(source.label());
    return r.info();
}

Result<std::vector<VideoFrame>> decode_video_frames(const VideoSource& source, std::span<const int64_t> indices,
                                                    const VideoDecodeParams& params) {
    if (indices.size() > size_t(limits::video_max_sampled_frames))
        return make_error(ErrorCode::out_of_range, "at most " + std::to_string(limits::video_max_sampled_frames) +
                                                       " frames can be sampled from a video");
    for (size_t i = 0; i < indices.size(); ++i)
        if (indices[i] < 0 || (i > 0 && indices[i] < indices[i - 1]))
            return make_error(ErrorCode::invalid_argument, "frame indices must be ascending and non-negative");
    std::vector<VideoFrame> frames(indices.size());
    if (indices.empty()) return frames;
    // Contiguous runs per thread: each run is decoded front to back by its own reader, so seeks stay forward.
    int threads = params.n_threads > 0 ? params.n_threads : omp_get_max_threads();
    int runs    = int(std::clamp<int64_t>((int64_t(indices.size()) + 7) / 8, 1, std::max(1, threads)));
    std::vector<Status> run_status(static_cast<size_t>(runs));
#pragma omp parallel for num_threads(runs) schedule(static, 1) if (runs > 1)
    for (int run = 0; run < runs; ++run) {
        const size_t begin = indices.size() * size_t(run) / size_t(runs);
        const size_t end   = indices.size() * size_t(run + 1) / size_t(runs);
        StreamReader reader;
        Status       s = reader.open(source, params.cancel);
        reader.allow_seek(params.seek);
        for (size_t i = begin; s.ok() && i < end; ++i) {
            if (i > begin && indices[i] == indices[i - 1]) { // the padding repeats the last index
                frames[i] = frames[i - 1];
                continue;
            }
            auto img = reader.frame_at(indices[i], params.max_frame_pixels);
            if (!img) {
                s = img.status();
                break;
            }
            frames[i].image       = std::move(*img);
            frames[i].index       = indices[i];
            frames[i].timestamp_s = double(indices[i]) / reader.info().fps;
        }
        run_status[size_t(run)] = s;
    }
    for (const Status& s : run_status)
        if (!s.ok()) return s.with_context(source.label());
    return frames;
}

Result<SampledVideo> load_video(const VideoSource& source, const VideoSamplingParams& sampling,
                                const VideoDecodeParams& params) {
    auto info = probe_video(source, params.cancel);
    if (!info) return info.status();
    SampledVideo v;
    v.info    = *info;
    v.indices = sample_frame_indices(info->n_frames, info->fps, info->duration_s, sampling);
    if (v.indices.empty()) return make_error(ErrorCode::bad_format, source.label() + ": the video has no frames");
    for (int64_t i : v.indices) v.timestamps.push_back(double(i) / info->fps);
    auto frames = decode_video_frames(source, v.indices, params);
    if (!frames) return frames.status();
    v.frames = std::move(*frames);
    return v;
}

} // namespace glmv::media
