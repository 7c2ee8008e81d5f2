#include "glmv/common/log.h"

#include <mutex>

namespace glmv {
namespace {
std::mutex& sink_mutex() {
    static std::mutex m;
    return m;
}
LogSink& sink() {
    // Default: silent. Libraries must not print; front-ends install a sink.
    static LogSink s;
    return s;
}
} // namespace

void log_set(LogSink s) {
    std::lock_guard<std::mutex> lock(sink_mutex());
    sink() = std::move(s);
}

void log_message(LogLevel level, const char* fmt, ...) {
    std::lock_guard<std::mutex> lock(sink_mutex());
    if (!sink()) return;
    char    buf[2048];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sink()(level, buf);
}

} // namespace glmv
