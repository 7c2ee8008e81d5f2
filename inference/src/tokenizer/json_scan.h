// A minimal, allocation-light scanner for the two huge members of tokenizer.json (model.vocab: 151k entries,
// model.merges: 318k pairs). Parsing them with a DOM JSON library takes about a second; this scanner reads them in
// tens of milliseconds, which the ≤ 300 ms load target needs. Everything else in the file goes through nlohmann.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "glmv/common/status.h"

namespace glmv::json_scan {

// Finds the value of `"key":` inside the object value that starts at `obj_begin` ('{'), skipping nested values and
// strings correctly. Returns [begin, end) of the value text, or {npos, npos}.
std::pair<size_t, size_t> find_member(std::string_view text, size_t obj_begin, std::string_view key);

// End (one past) of the JSON value starting at `pos`; npos when malformed.
size_t skip_value(std::string_view text, size_t pos);

// Parses a JSON string literal at text[pos] == '"'; advances pos past it.
bool parse_string(std::string_view text, size_t& pos, std::string* out);

// {"tok": id, ...}
Status parse_vocab(std::string_view value, std::vector<std::pair<std::string, int64_t>>* out);
// [["a","b"], ...] or ["a b", ...]
Status parse_merges(std::string_view value, std::vector<std::pair<std::string, std::string>>* out);

} // namespace glmv::json_scan
