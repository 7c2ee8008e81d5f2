// Injectable log sink: libraries never print; the app routes messages to Qt's handler or stderr.
//
//   glmv::log_set([](glmv::LogLevel lvl, const char* msg) { ... });
//   GLMV_LOG_INFO("loaded %d tensors", n);
#pragma once

#include <cstdarg>
#include <cstdio>
#include <functional>

namespace glmv {

enum class LogLevel { debug, info, warn, error };
using LogSink = std::function<void(LogLevel, const char*)>;

// Replaces the process-wide sink. Not thread-safe against concurrent log calls: set it once at startup.
void log_set(LogSink sink);
void log_message(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

} // namespace glmv

#define GLMV_LOG_DEBUG(...) ::glmv::log_message(::glmv::LogLevel::debug, __VA_ARGS__)
#define GLMV_LOG_INFO(...) ::glmv::log_message(::glmv::LogLevel::info, __VA_ARGS__)
#define GLMV_LOG_WARN(...) ::glmv::log_message(::glmv::LogLevel::warn, __VA_ARGS__)
#define GLMV_LOG_ERROR(...) ::glmv::log_message(::glmv::LogLevel::error, __VA_ARGS__)
