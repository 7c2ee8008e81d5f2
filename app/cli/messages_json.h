// Reads a conversation in the glmv-cli messages format: a JSON list of {role, content} where content is a string or
// a list of {type: text|image|video|pdf, text|image|video|pdf: path, pages?: "A-B"}; relative paths are resolved
// against `base_dir`.
#pragma once

#include <string>
#include <vector>

#include "glmv/pipeline/chat_engine.h"

namespace glmv::cli {

Result<std::vector<pipeline::Turn>> parse_messages_json(const std::string& text, const std::string& base_dir);
Result<std::vector<pipeline::Turn>> load_messages_json(const std::string& path);

} // namespace glmv::cli
