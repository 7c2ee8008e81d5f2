#include "glmv/common/disk_space.h"

#include <sys/statvfs.h>

namespace glmv {

Status ensure_free_space(const std::string& dir, uint64_t needed_bytes) {
    struct statvfs vfs {};
    if (::statvfs(dir.c_str(), &vfs) != 0) return {};
    const uint64_t free_bytes = uint64_t(vfs.f_bavail) * uint64_t(vfs.f_frsize);
    if (free_bytes >= needed_bytes + (64ull << 20)) return {};
    return Status(ErrorCode::out_of_range, "not enough disk space in " + dir + ": " + std::to_string(needed_bytes >> 20) +
                                               " MiB needed, " + std::to_string(free_bytes >> 20) + " MiB free");
}

} // namespace glmv
