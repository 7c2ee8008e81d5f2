// Refusing a large write up front when the disk cannot hold it (model downloads, quantised model folders), so a
// user learns it before minutes of work rather than from a half-written file.
#pragma once

#include <cstdint>
#include <string>

#include "glmv/common/status.h"

namespace glmv {

// ok when the file system of `dir` (which must exist) has `needed_bytes` plus a 64 MiB margin free; otherwise
// out_of_range with "not enough disk space in <dir>: N MiB needed, M MiB free". A file system that cannot report
// its free space is let through (the write itself then reports a full disk).
Status ensure_free_space(const std::string& dir, uint64_t needed_bytes);

} // namespace glmv
