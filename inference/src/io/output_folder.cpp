#include "io/output_folder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "glmv/inference/safetensors.h"

namespace glmv {

namespace fs = std::filesystem;

Status io_error(const std::string& what, int err) {
    return Status(ErrorCode::io_error, what + ": " + std::strerror(err) + (err == ENOSPC ? " (disk full)" : ""));
}

// ---- OutputFile -------------------------------------------------------------------------------------------------

OutputFile::~OutputFile() {
    if (fd_ >= 0) ::close(fd_);
}

Status OutputFile::open(const fs::path& path) {
    path_ = path.string();
    fd_   = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    return fd_ < 0 ? io_error("cannot create '" + path_ + "'", errno) : Status();
}

Status OutputFile::write_at(const void* data, uint64_t n, uint64_t offset) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
        const ssize_t w = ::pwrite(fd_, p, std::min<uint64_t>(n, 1u << 30), off_t(offset));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return io_error("cannot write '" + path_ + "'", w < 0 ? errno : ENOSPC);
        p += w, n -= uint64_t(w), offset += uint64_t(w);
    }
    return {};
}

Status OutputFile::sync_and_close() {
    const int r = ::fsync(fd_), e = errno;
    ::close(fd_);
    fd_ = -1;
    return r != 0 ? io_error("cannot sync '" + path_ + "'", e) : Status();
}

// ---- WriteBehind ------------------------------------------------------------------------------------------------

WriteBehind::WriteBehind(OutputFile& file) : file_(file), thread_([this] { run(); }) {}

WriteBehind::~WriteBehind() {
    (void)finish();
}

Status WriteBehind::push(Job job) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return queue_.size() < kMaxPending; });
    if (!error_.ok()) return error_;
    queue_.push_back(std::move(job));
    cv_.notify_all();
    return {};
}

Status WriteBehind::finish() {
    {
        std::lock_guard lk(mu_);
        closing_ = true;
        cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    return error_;
}

void WriteBehind::run() {
    std::unique_lock lk(mu_);
    for (;;) {
        cv_.wait(lk, [&] { return !queue_.empty() || closing_; });
        if (queue_.empty()) return;
        // The job stays queued while it is written, so kMaxPending counts it; push_back never moves it (deque).
        const Job& job  = queue_.front();
        const bool skip = !error_.ok();
        lk.unlock();
        Status st = skip ? Status() : file_.write_at(job.data, job.n, job.offset);
        if (!job.keep) drop_mapped_pages(job.data, job.n);
        lk.lock();
        if (!st.ok() && error_.ok()) error_ = st;
        queue_.pop_front();
        cv_.notify_all();
    }
}

// ---- folders ----------------------------------------------------------------------------------------------------

Status sync_path(const fs::path& p) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("cannot open '" + p.string() + "'", errno);
    const int r = ::fsync(fd), e = errno;
    ::close(fd);
    return r != 0 ? io_error("cannot sync '" + p.string() + "'", e) : Status();
}

bool path_is_within(const fs::path& a, const fs::path& b) {
    auto [ib, ia] = std::mismatch(b.begin(), b.end(), a.begin(), a.end());
    return ib == b.end();
}

// Not mkdtemp: its 0700 mode would become the mode of the result, and a model folder should get 0777 & ~umask.
Result<std::unique_ptr<TempFolder>> TempFolder::create(const fs::path& out) {
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
        char suffix[16];
        std::snprintf(suffix, sizeof suffix, ".tmp-%06x", unsigned(rd()) & 0xffffffu);
        const fs::path p = out.string() + suffix;
        if (::mkdir(p.c_str(), 0777) == 0) return std::unique_ptr<TempFolder>(new TempFolder(p));
        if (errno != EEXIST) return io_error("cannot create '" + p.string() + "'", errno);
    }
    return Status(ErrorCode::io_error, "cannot find a free temporary name next to '" + out.string() + "'");
}

TempFolder::~TempFolder() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
}

Status move_folder_into_place(const fs::path& tmp, const fs::path& out, bool replace) {
    if (::rename(tmp.c_str(), out.c_str()) == 0) return {};
    if (!replace || (errno != ENOTEMPTY && errno != EEXIST))
        return io_error("cannot rename '" + tmp.string() + "' to '" + out.string() + "'", errno);
    std::error_code ec;
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.c_str(), RENAME_EXCHANGE) != 0) {
        // A file system without RENAME_EXCHANGE: two renames, with a short moment where `out` is absent.
        const fs::path old = tmp.string() + ".old";
        if (::rename(out.c_str(), old.c_str()) != 0)
            return io_error("cannot move the old '" + out.string() + "' aside", errno);
        if (::rename(tmp.c_str(), out.c_str()) != 0) {
            const int e = errno;
            ::rename(old.c_str(), out.c_str());
            return io_error("cannot rename '" + tmp.string() + "' to '" + out.string() + "'", e);
        }
        fs::remove_all(old, ec);
        return {};
    }
    fs::remove_all(tmp, ec); // now the old folder
    return {};
}

} // namespace glmv
