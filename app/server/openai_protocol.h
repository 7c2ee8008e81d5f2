// OpenAI chat-completions request parsing and response shapes (the subset vLLM serves for GLM-4.1V), kept apart from
// the HTTP server so it can be tested and fuzzed alone.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "glmv/pipeline/chat_engine.h"

namespace glmv::server {

struct ServerLimits {
    int         max_images_per_request = 300;
    int         max_videos_per_request = 1;
    int         max_tokens_cap         = 32768;
    std::string allowed_local_media_path; // file:// URLs only under this folder; empty = none allowed
};

struct ChatRequest {
    std::vector<pipeline::Turn> turns;
    pipeline::ChatSettings      settings;
    bool                        stream = false;
    std::string                 model;
};

// An error in OpenAI's shape with its HTTP status.
struct ApiError {
    int         http_status = 400;
    std::string type        = "invalid_request_error";
    std::string message;
    std::string param;
    nlohmann::json body() const;
};

// Parses and validates a /v1/chat/completions body. Data URLs are decoded into memory; file:// URLs must resolve
// (symlinks followed) inside the allowed folder; http(s) URLs are refused (the server never goes online).
bool parse_chat_request(const std::string& body, const ServerLimits& limits, ChatRequest* out, ApiError* err);

// Base64 (standard alphabet, padding optional); false on invalid input.
bool decode_base64(const std::string& in, std::vector<uint8_t>* out);

nlohmann::json completion_json(const std::string& id, const std::string& model, int64_t created,
                               const pipeline::TurnResult& r);
nlohmann::json chunk_json(const std::string& id, const std::string& model, int64_t created, const nlohmann::json& delta,
                          const char* finish_reason);

} // namespace glmv::server
