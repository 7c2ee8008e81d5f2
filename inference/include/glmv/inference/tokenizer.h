// Byte-level BPE tokenizer loaded from a Hugging Face tokenizer.json (+ tokenizer_config.json), as GLM-4.1V ships.
//
//   auto tok = glmv::Tokenizer::load("/models/GLM-4.1V-9B-Thinking");   // folder with tokenizer.json
//   std::vector<int32_t> ids = tok->encode("Hello, world!");            // no special tokens added
//   std::string text = tok->decode(ids, /*skip_special=*/false);
//   int32_t think = tok->token_id("<think>");                           // -1 when absent
//
//   glmv::StreamingDecoder dec(*tok);                                   // complete UTF-8 only, per token
//   for (int32_t id : generated) emit(dec.push(id));
//   emit(dec.flush());
//
// What it implements: added tokens (tokenizer.json `added_tokens` plus tokenizer_config.json `added_tokens_decoder`,
// which alone holds GLM-4.1V's ids 151343–151351) are split out of the text first, leftmost-longest; each remaining
// span is split by the Split pre-tokenizer's regex, run by PCRE2 (UTF + UCP, JIT); pieces are mapped byte→unicode
// (GPT-2 byte level) and merged by BPE rank, except that with `ignore_merges` a piece already in the vocabulary is
// taken whole.
//
// Threading: a Tokenizer is immutable after load except for an internal cache guarded by a mutex; share it freely.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "glmv/common/status.h"

namespace glmv {

class Tokenizer {
  public:
    // `dir` holds tokenizer.json and optionally tokenizer_config.json.
    static Result<std::shared_ptr<const Tokenizer>> load(const std::string& dir);
    // From file contents (config_json may be empty); used by tests and fuzzers.
    static Result<std::shared_ptr<const Tokenizer>> from_json(const std::string& tokenizer_json,
                                                              const std::string& config_json,
                                                              const std::string& label);
    ~Tokenizer();

    std::vector<int32_t> encode(std::string_view text) const;
    // Encodes text with no added-token splitting (plain BPE of every piece), e.g. for user text that must not be
    // able to inject control tokens.
    std::vector<int32_t> encode_plain(std::string_view text) const;
    std::string          decode(const std::vector<int32_t>& ids, bool skip_special = false) const;
    // Raw bytes of one token (added tokens: their text). Empty for unknown ids.
    std::string          token_bytes(int32_t id) const;

    int32_t token_id(std::string_view token) const; // vocabulary or added token; -1 when absent
    bool    is_special(int32_t id) const;
    bool    is_added(int32_t id) const;
    int32_t vocab_size() const; // largest id + 1

    struct Impl;

  private:
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Turns ids into text as they are generated, releasing only complete UTF-8 characters: a character split across
// tokens is held until its last byte arrives. Invalid bytes become U+FFFD.
class StreamingDecoder {
  public:
    explicit StreamingDecoder(const Tokenizer& tok, bool skip_special = false) : tok_(tok), skip_special_(skip_special) {}
    std::string push(int32_t id);
    std::string flush();

  private:
    const Tokenizer& tok_;
    bool             skip_special_;
    std::string      pending_;
};

// Splits bytes into the longest valid UTF-8 prefix and an incomplete tail (≤ 3 bytes that may still be completed);
// invalid bytes in the prefix are replaced by U+FFFD.
void utf8_take_complete(std::string& pending, std::string* out, bool final_flush);

} // namespace glmv
