// Writing a folder of large files safely (glmv-cli quantize): files written at explicit offsets and synced, writes
// overlapped with computation on a background thread, and a folder built under a temporary sibling name and renamed
// into place only when complete, so the destination is never seen half written.
//
//   auto tmp = TempFolder::create(out);             // <out>.tmp-XXXXXX, removed unless committed
//   OutputFile f;  f.open(tmp->path() / "a.bin");  { WriteBehind w(f); w.push({...}); w.finish(); } f.sync_and_close();
//   sync_path(tmp->path());  move_folder_into_place(tmp->path(), out, replace);  tmp->commit();
//
// Threading: a WriteBehind owns one thread that writes to its OutputFile; push/finish are called by one thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "glmv/common/status.h"

namespace glmv {

// "<what>: <strerror>" as an io_error, with " (disk full)" for ENOSPC.
Status io_error(const std::string& what, int err);

// A new file written with pwrite at explicit offsets (the scales of a matrix are written while its data is).
class OutputFile {
  public:
    OutputFile()                             = default;
    OutputFile(const OutputFile&)            = delete;
    OutputFile& operator=(const OutputFile&) = delete;
    ~OutputFile();

    Status open(const std::filesystem::path& path); // fails if the file exists
    Status write_at(const void* data, uint64_t n, uint64_t offset);
    // fsync then close: done before the folder is renamed into place, so a crash never exposes short files.
    Status sync_and_close();

  private:
    int         fd_ = -1;
    std::string path_;
};

// Writes queued blocks on a background thread, so the disk writes of one block overlap computing the next: on the
// 2-core VM the writes of the 13 GB q8 folder were a quarter of the time when done in line. At most kMaxPending
// blocks wait (the one being written included), which bounds the memory they hold.
class WriteBehind {
  public:
    // `keep` owns the bytes, or is null when they lie in a read-only file mapping: those pages are then dropped
    // once written (drop_mapped_pages), so a streaming copy does not keep them resident.
    struct Job {
        std::shared_ptr<const void> keep;
        const uint8_t*              data   = nullptr;
        uint64_t                    n      = 0;
        uint64_t                    offset = 0;
    };

    explicit WriteBehind(OutputFile& file);
    WriteBehind(const WriteBehind&)            = delete;
    WriteBehind& operator=(const WriteBehind&) = delete;
    ~WriteBehind(); // finishes the queued writes

    // Waits while kMaxPending blocks are queued; returns the first write error, if any happened.
    Status push(Job job);
    // Waits for every queued write; the first error of any.
    Status finish();

  private:
    static constexpr size_t kMaxPending = 4;
    void                    run();

    OutputFile&             file_;
    std::mutex              mu_;
    std::condition_variable cv_;
    std::deque<Job>         queue_;
    bool                    closing_ = false;
    Status                  error_;
    std::thread             thread_; // last: started once the members it uses exist
};

// fsync of a file or folder by path.
Status sync_path(const std::filesystem::path& p);

// `a` is `b` or lies inside it (both absolute and normalised).
bool path_is_within(const std::filesystem::path& a, const std::filesystem::path& b);

// A new sibling folder <out>.tmp-XXXXXX, removed with its contents when the object dies unless commit() was called.
class TempFolder {
  public:
    static Result<std::unique_ptr<TempFolder>> create(const std::filesystem::path& out);
    ~TempFolder();
    const std::filesystem::path& path() const { return path_; }
    void                         commit() { path_.clear(); }

  private:
    explicit TempFolder(std::filesystem::path p) : path_(std::move(p)) {}
    std::filesystem::path path_;
};

// Puts the finished folder `tmp` at `out`: a plain rename when `out` is absent or an empty folder; with `replace`,
// an atomic swap with the old folder (which is then deleted), so `out` is at every moment the old or the new one.
Status move_folder_into_place(const std::filesystem::path& tmp, const std::filesystem::path& out, bool replace);

} // namespace glmv
