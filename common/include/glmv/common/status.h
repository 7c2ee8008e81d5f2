// Errors as values, shared by every library (inference, media, app).
//
//   glmv::Result<Model> r = Model::load(dir);
//   if (!r) { log(r.status().message()); return; }
//   Model& m = r.value();
//
// No exception leaves a library: a Status carries a code and a message that says what went wrong and,
// where it helps, what to do about it ("tensor 'x' has shape [2,3], expected [4,3]; is this a GLM-4.1V model?").
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace glmv {

enum class ErrorCode {
    ok = 0,
    invalid_argument, // caller passed something unusable
    not_found,        // a file, tensor or key that must exist does not
    io_error,         // the OS refused a read/write/mmap
    bad_format,       // a file's contents are malformed
    unsupported,      // well-formed but not something we handle
    out_of_range,     // a value beyond a limit (limits.h)
    out_of_memory,
    cancelled,
    internal,
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status ok_status() { return {}; }

    bool               ok() const { return code_ == ErrorCode::ok; }
    explicit           operator bool() const { return ok(); }
    ErrorCode          code() const { return code_; }
    const std::string& message() const { return message_; }

    // "bad_format: <message>"
    std::string to_string() const;

    // Prefixes context, e.g. the file name: "model.safetensors: tensor 'x' ...".
    Status with_context(const std::string& context) const {
        if (ok()) return *this;
        return {code_, context + ": " + message_};
    }

  private:
    ErrorCode   code_ = ErrorCode::ok;
    std::string message_;
};

inline Status make_error(ErrorCode code, std::string message) { return {code, std::move(message)}; }

template <class T> class [[nodiscard]] Result {
  public:
    Result(T value) : value_(std::move(value)) {}
    Result(Status status) : status_(std::move(status)) {
        if (status_.ok()) status_ = Status(ErrorCode::internal, "Result constructed from an ok Status without a value");
    }

    bool          ok() const { return value_.has_value(); }
    explicit      operator bool() const { return ok(); }
    const Status& status() const { return status_; }
    T&            value() & { return *value_; }
    const T&      value() const& { return *value_; }
    T&&           value() && { return std::move(*value_); }
    T*            operator->() { return &*value_; }
    const T*      operator->() const { return &*value_; }
    T&            operator*() { return *value_; }

  private:
    std::optional<T> value_;
    Status           status_;
};

inline const char* error_code_name(ErrorCode code) {
    switch (code) {
    case ErrorCode::ok: return "ok";
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::io_error: return "io_error";
    case ErrorCode::bad_format: return "bad_format";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::out_of_range: return "out_of_range";
    case ErrorCode::out_of_memory: return "out_of_memory";
    case ErrorCode::cancelled: return "cancelled";
    case ErrorCode::internal: return "internal";
    }
    return "unknown";
}

inline std::string Status::to_string() const {
    if (ok()) return "ok";
    return std::string(error_code_name(code_)) + ": " + message_;
}

} // namespace glmv

// Propagates a failed Status from an expression returning Status.
#define GLMV_RETURN_IF_ERROR(expr)                                                                                     \
    do {                                                                                                               \
        ::glmv::Status glmv_status_ = (expr);                                                                          \
        if (!glmv_status_.ok()) return glmv_status_;                                                                   \
    } while (0)
