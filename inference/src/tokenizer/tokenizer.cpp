// tokenizer.json loading, encoding and decoding (see tokenizer.h for the algorithm).
#include "glmv/inference/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <sstream>
#include <unordered_map>

#include "tokenizer/json_scan.h"

namespace glmv {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxTokenBytes   = 1 << 16; // a single vocabulary entry longer than this is malformed
constexpr size_t kMaxVocab        = 1 << 22;
constexpr size_t kCacheMaxEntries = 1 << 18;

// GPT-2 byte-level alphabet: printable bytes map to themselves, the rest to U+0100 onwards, in byte order.
std::array<uint32_t, 256> make_byte_to_cp() {
    std::array<uint32_t, 256> m{};
    uint32_t                  extra = 0;
    for (uint32_t b = 0; b < 256; ++b) {
        bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        m[b]           = printable ? b : 256 + extra++;
    }
    return m;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) out.push_back(char(cp));
    else if (cp < 0x800) {
        out.push_back(char(0xC0 | (cp >> 6)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(char(0xE0 | (cp >> 12)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    }
}

struct AddedToken {
    std::string content;
    int32_t     id;
    bool        special;
};

} // namespace

struct Tokenizer::Impl {
    std::unordered_map<std::string, int32_t> vocab;
    std::vector<std::string>                 id_to_token; // byte-level strings (or added content)
    std::vector<uint8_t>                     id_flags;    // bit0 added, bit1 special
    std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges; // (a,b) → (rank, merged id)
    bool                                     ignore_merges = false;
    std::vector<AddedToken>                  added;        // sorted by content length, longest first
    std::array<std::vector<size_t>, 256>     added_by_first_byte;
    std::array<std::string, 256>             byte_str;     // byte → its byte-level unicode char (UTF-8)
    std::unordered_map<uint32_t, uint8_t>    cp_to_byte;
    std::array<int32_t, 256>                 byte_id{};    // byte → vocabulary id of its single-char token
    pcre2_code*                              regex = nullptr;
    mutable std::mutex                       cache_mutex;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache;

    ~Impl() {
        if (regex) pcre2_code_free(regex);
    }

    void bpe(const std::string& piece, std::vector<int32_t>& out) const;
    void encode_span(std::string_view text, std::vector<int32_t>& out) const;
    void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
};

// BPE of one pre-token with a heap of candidate merges (O(n log n), so a 64 KB "word" is still fast).
void Tokenizer::Impl::bpe(const std::string& bytes, std::vector<int32_t>& out) const {
    const size_t n = bytes.size();
    struct Sym {
        int32_t id;
        int32_t prev, next;
    };
    std::vector<Sym> sym(n);
    for (size_t i = 0; i < n; ++i) sym[i] = {byte_id[uint8_t(bytes[i])], int32_t(i) - 1, i + 1 < n ? int32_t(i + 1) : -1};
    struct Cand {
        int32_t rank, pos, left_id, right_id;
        bool    operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
    auto push = [&](int32_t pos) {
        if (pos < 0 || sym[size_t(pos)].next < 0) return;
        const int32_t a = sym[size_t(pos)].id, b = sym[size_t(sym[size_t(pos)].next)].id;
        auto          it = merges.find(uint64_t(uint32_t(a)) << 32 | uint32_t(b));
        if (it != merges.end()) heap.push({it->second.first, pos, a, b});
    };
    for (size_t i = 0; i + 1 < n; ++i) push(int32_t(i));
    while (!heap.empty()) {
        Cand c = heap.top();
        heap.pop();
        Sym& l = sym[size_t(c.pos)];
        if (l.id != c.left_id || l.next < 0 || sym[size_t(l.next)].id != c.right_id) continue; // stale
        const int32_t r = l.next;
        l.id            = merges.at(uint64_t(uint32_t(c.left_id)) << 32 | uint32_t(c.right_id)).second;
        l.next          = sym[size_t(r)].next;
        if (l.next >= 0) sym[size_t(l.next)].prev = c.pos;
        sym[size_t(r)].id = -1;
        push(l.prev);
        push(c.pos);
    }
    for (int32_t i = 0; i >= 0 && size_t(i) < n; i = sym[size_t(i)].next) out.push_back(sym[size_t(i)].id);
}

void Tokenizer::Impl::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
    std::string key(piece);
    {
        std::lock_guard<std::mutex> lock(cache_mutex);
        auto                        it = cache.find(key);
        if (it != cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<int32_t> ids;
    bool                 done = false;
    if (ignore_merges) {
        std::string bl;
        bl.reserve(piece.size() * 2);
        for (unsigned char b : piece) bl += byte_str[b];
        auto it = vocab.find(bl);
        if (it != vocab.end()) {
            ids.push_back(it->second);
            done = true;
        }
    }
    if (!done) bpe(key, ids);
    out.insert(out.end(), ids.begin(), ids.end());
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (cache.size() >= kCacheMaxEntries) cache.clear();
    cache.emplace(std::move(key), std::move(ids));
}

// Split pre-tokenizer, behaviour "Isolated": every match is a piece, and so is every gap between matches.
void Tokenizer::Impl::encode_span(std::string_view text, std::vector<int32_t>& out) const {
    if (text.empty()) return;
    if (!regex) {
        encode_piece(text, out);
        return;
    }
    pcre2_match_data* md  = pcre2_match_data_create_from_pattern(regex, nullptr);
    size_t            pos = 0, gap_start = 0;
    const auto*       subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    while (pos <= text.size()) {
        int rc = pcre2_match(regex, subject, text.size(), pos, 0, md, nullptr);
        if (rc < 0) break;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        size_t            b = ov[0], e = ov[1];
        if (b > gap_start) encode_piece(text.substr(gap_start, b - gap_start), out);
        if (e > b) encode_piece(text.substr(b, e - b), out);
        if (e == b) { // empty match: step over one character
            size_t step = 1;
            while (b + step < text.size() && (uint8_t(text[b + step]) & 0xC0) == 0x80) ++step;
            pos = b + step;
            gap_start = b;
            if (pos > text.size()) break;
            continue;
        }
        pos = gap_start = e;
    }
    if (gap_start < text.size()) encode_piece(text.substr(gap_start), out);
    pcre2_match_data_free(md);
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

namespace {

Status bad(const std::string& label, const std::string& msg) { return Status(ErrorCode::bad_format, label + ": " + msg); }

std::string read_all(const std::string& path, bool* ok) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    *ok = bool(f);
    if (!f) return {};
    std::string out(static_cast<size_t>(f.tellg()), '\0');
    f.seekg(0);
    f.read(out.data(), std::streamsize(out.size()));
    *ok = bool(f);
    return out;
}

} // namespace

Result<std::shared_ptr<const Tokenizer>> Tokenizer::load(const std::string& dir) {
    namespace fs = std::filesystem;
    bool        ok;
    std::string tj = read_all((fs::path(dir) / "tokenizer.json").string(), &ok);
    if (!ok) return Status(ErrorCode::not_found, "'" + dir + "' has no tokenizer.json: is this a complete model folder?");
    bool        cok;
    std::string cj = read_all((fs::path(dir) / "tokenizer_config.json").string(), &cok);
    return from_json(tj, cok ? cj : std::string(), (fs::path(dir) / "tokenizer.json").string());
}

Result<std::shared_ptr<const Tokenizer>> Tokenizer::from_json(const std::string& text, const std::string& config_text,
                                                              const std::string& label) {
    auto impl = std::make_unique<Impl>();
    // 1. The large members with the fast scanner.
    auto model = json_scan::find_member(text, text.find_first_not_of(" \t\r\n"), "model");
    if (model.first == std::string_view::npos) return bad(label, "no \"model\" object (not a tokenizer.json?)");
    std::string_view mv(text.data() + model.first, model.second - model.first);
    auto             vocab_span  = json_scan::find_member(mv, 0, "vocab");
    auto             merges_span = json_scan::find_member(mv, 0, "merges");
    if (vocab_span.first == std::string_view::npos) return bad(label, "model has no vocab");
    std::vector<std::pair<std::string, int64_t>> vocab;
    GLMV_RETURN_IF_ERROR(json_scan::parse_vocab(mv.substr(vocab_span.first, vocab_span.second - vocab_span.first), &vocab)
                             .with_context(label));
    std::vector<std::pair<std::string, std::string>> merges;
    if (merges_span.first != std::string_view::npos)
        GLMV_RETURN_IF_ERROR(json_scan::parse_merges(mv.substr(merges_span.first, merges_span.second - merges_span.first),
                                                     &merges)
                                 .with_context(label));
    // 2. Everything else with a DOM parser, with the two big members blanked out.
    std::string rest;
    rest.reserve(text.size() / 8);
    {
        const size_t vb = model.first + vocab_span.first, ve = model.first + vocab_span.second;
        rest.append(text, 0, vb);
        rest += "{}";
        if (merges_span.first != std::string_view::npos) {
            const size_t mb = model.first + merges_span.first, me = model.first + merges_span.second;
            if (mb > ve) {
                rest.append(text, ve, mb - ve);
                rest += "[]";
                rest.append(text, me, std::string::npos);
            } else { // merges before vocab
                rest = text.substr(0, mb) + "[]" + text.substr(me, vb - me) + "{}" + text.substr(ve);
            }
        } else rest.append(text, ve, std::string::npos);
    }
    json j;
    try {
        j = json::parse(rest);
    } catch (const std::exception& e) {
        return bad(label, std::string("not valid JSON (") + e.what() + ")");
    }
    const json& m = j["model"];
    if (!m.contains("type") || m["type"] != "BPE") return Status(ErrorCode::unsupported, label + ": only BPE tokenizers are supported");
    impl->ignore_merges = m.value("ignore_merges", false);

    // Vocabulary: ids must be unique and non-negative; gaps are allowed only where added tokens fill them.
    if (vocab.size() > kMaxVocab) return bad(label, "vocabulary is too large");
    int64_t max_id = -1;
    for (auto& [tok, id] : vocab) {
        if (id < 0 || id >= int64_t(kMaxVocab)) return bad(label, "token '" + tok + "' has invalid id " + std::to_string(id));
        if (tok.size() > kMaxTokenBytes) return bad(label, "a vocabulary entry is longer than 64 KiB");
        max_id = std::max(max_id, id);
    }
    impl->vocab.reserve(vocab.size() * 2);
    impl->merges.reserve(merges.size() * 2);
    impl->id_to_token.assign(size_t(max_id + 1), std::string());
    impl->id_flags.assign(size_t(max_id + 1), 0);
    std::vector<char> present(size_t(max_id + 1), 0);
    for (auto& [tok, id] : vocab) {
        if (present[size_t(id)]) return bad(label, "id " + std::to_string(id) + " is used by two vocabulary entries");
        present[size_t(id)] = 1;
        impl->id_to_token[size_t(id)] = tok;
        if (!impl->vocab.emplace(std::move(tok), int32_t(id)).second)
            return bad(label, "token '" + impl->id_to_token[size_t(id)] + "' appears twice");
    }
    // Byte-level alphabet: every byte needs its single-character token.
    const auto b2c = make_byte_to_cp();
    for (int b = 0; b < 256; ++b) {
        append_utf8(impl->byte_str[size_t(b)], b2c[size_t(b)]);
        impl->cp_to_byte[b2c[size_t(b)]] = uint8_t(b);
        auto it = impl->vocab.find(impl->byte_str[size_t(b)]);
        if (it == impl->vocab.end())
            return bad(label, "the vocabulary lacks the byte-level token for byte " + std::to_string(b));
        impl->byte_id[size_t(b)] = it->second;
    }
    // Merges → (rank, merged id).
    std::string ab;
    for (size_t r = 0; r < merges.size(); ++r) {
        auto& [a, b] = merges[r];
        ab.assign(a).append(b);
        auto ia = impl->vocab.find(a), ib = impl->vocab.find(b), im = impl->vocab.find(ab);
        if (ia == impl->vocab.end() || ib == impl->vocab.end() || im == impl->vocab.end())
            return bad(label, "merge " + std::to_string(r) + " ('" + a + "' + '" + b + "') names a token not in the vocabulary");
        impl->merges.emplace(uint64_t(uint32_t(ia->second)) << 32 | uint32_t(ib->second),
                             std::make_pair(int32_t(r), im->second));
    }

    // Added tokens from tokenizer.json and tokenizer_config.json's added_tokens_decoder.
    std::unordered_map<int32_t, AddedToken> added;
    auto add = [&](int64_t id, const std::string& content, bool special) -> Status {
        if (id < 0 || id >= int64_t(kMaxVocab) || content.empty() || content.size() > kMaxTokenBytes)
            return bad(label, "added token '" + content + "' is invalid");
        auto it = added.find(int32_t(id));
        if (it != added.end() && it->second.content != content)
            return bad(label, "id " + std::to_string(id) + " is both '" + it->second.content + "' and '" + content + "'");
        for (auto& [oid, t] : added)
            if (t.content == content && oid != id) return bad(label, "added token '" + content + "' has two ids");
        added[int32_t(id)] = AddedToken{content, int32_t(id), special};
        return {};
    };
    if (j.contains("added_tokens") && j["added_tokens"].is_array())
        for (const json& t : j["added_tokens"]) {
            if (!t.is_object() || !t.contains("id") || !t.contains("content") || !t["id"].is_number_integer() ||
                !t["content"].is_string())
                return bad(label, "malformed entry in added_tokens");
            GLMV_RETURN_IF_ERROR(add(t["id"].get<int64_t>(), t["content"].get<std::string>(), t.value("special", false)));
        }
    if (!config_text.empty()) {
        json c;
        try {
            c = json::parse(config_text);
        } catch (const std::exception& e) {
            return bad(label, std::string("tokenizer_config.json is not valid JSON (") + e.what() + ")");
        }
        if (c.is_object() && c.contains("added_tokens_decoder") && c["added_tokens_decoder"].is_object())
            for (auto it = c["added_tokens_decoder"].begin(); it != c["added_tokens_decoder"].end(); ++it) {
                char*     end = nullptr;
                long long id  = std::strtoll(it.key().c_str(), &end, 10);
                if (!end || *end || !it.value().is_object() || !it.value().contains("content") ||
                    !it.value()["content"].is_string())
                    return bad(label, "tokenizer_config.json: malformed added_tokens_decoder entry '" + it.key() + "'");
                GLMV_RETURN_IF_ERROR(add(id, it.value()["content"].get<std::string>(), it.value().value("special", false)));
            }
    }
    for (auto& [id, t] : added) {
        if (size_t(id) >= impl->id_to_token.size()) {
            impl->id_to_token.resize(size_t(id) + 1);
            impl->id_flags.resize(size_t(id) + 1, 0);
        }
        impl->id_to_token[size_t(id)] = t.content;
        impl->id_flags[size_t(id)]    = uint8_t(1 | (t.special ? 2 : 0));
        impl->added.push_back(t);
    }
    std::sort(impl->added.begin(), impl->added.end(),
              [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
    for (size_t i = 0; i < impl->added.size(); ++i)
        impl->added_by_first_byte[uint8_t(impl->added[i].content[0])].push_back(i);

    // Pre-tokenizer: Sequence[Split(Regex, Isolated), ByteLevel(use_regex=false)] or a single Split.
    const json& pre = j["pre_tokenizer"];
    std::string pattern;
    auto        take_split = [&](const json& p) {
        if (p.is_object() && p.value("type", "") == "Split" && p.contains("pattern") && p["pattern"].contains("Regex"))
            pattern = p["pattern"]["Regex"].get<std::string>();
    };
    if (pre.is_object() && pre.value("type", "") == "Sequence" && pre.contains("pretokenizers"))
        for (const json& p : pre["pretokenizers"]) take_split(p);
    else take_split(pre);
    if (pattern.empty() && !pre.is_null())
        return Status(ErrorCode::unsupported, label + ": pre-tokenizer without a Split regex is not supported");
    if (!pattern.empty()) {
        int        err;
        PCRE2_SIZE off;
        impl->regex = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &off, nullptr);
        if (!impl->regex) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            return bad(label, std::string("pre-tokenizer regex does not compile: ") + reinterpret_cast<char*>(msg));
        }
        pcre2_jit_compile(impl->regex, PCRE2_JIT_COMPLETE); // falls back to the interpreter if JIT is unavailable
    }
    return std::shared_ptr<const Tokenizer>(new Tokenizer(std::move(impl)));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
    const Impl&          t = *impl_;
    std::vector<int32_t> out;
    size_t               span_start = 0, i = 0;
    while (i < text.size()) {
        const auto& cands = t.added_by_first_byte[uint8_t(text[i])];
        const AddedToken* hit = nullptr;
        for (size_t c : cands) {
            const std::string& s = t.added[c].content;
            if (text.compare(i, s.size(), s) == 0) {
                hit = &t.added[c];
                break; // sorted longest first
            }
        }
        if (!hit) {
            ++i;
            continue;
        }
        t.encode_span(text.substr(span_start, i - span_start), out);
        out.push_back(hit->id);
        i += hit->content.size();
        span_start = i;
    }
    t.encode_span(text.substr(span_start), out);
    return out;
}

std::vector<int32_t> Tokenizer::encode_plain(std::string_view text) const {
    std::vector<int32_t> out;
    impl_->encode_span(text, out);
    return out;
}

std::string Tokenizer::token_bytes(int32_t id) const {
    const Impl& t = *impl_;
    if (id < 0 || size_t(id) >= t.id_to_token.size()) return {};
    if (t.id_flags[size_t(id)] & 1) return t.id_to_token[size_t(id)];
    const std::string& s = t.id_to_token[size_t(id)];
    std::string        out;
    for (size_t i = 0; i < s.size();) {
        uint32_t cp;
        uint8_t  c = uint8_t(s[i]);
        int      len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
        if (i + size_t(len) > s.size()) break;
        cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
        for (int k = 1; k < len; ++k) cp = cp << 6 | (uint8_t(s[i + size_t(k)]) & 0x3Fu);
        auto it = t.cp_to_byte.find(cp);
        if (it != t.cp_to_byte.end()) out.push_back(char(it->second));
        else out.append(s, i, size_t(len)); // not a byte-level char: keep as is
        i += size_t(len);
    }
    return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
    std::string bytes;
    for (int32_t id : ids) {
        if (skip_special && is_special(id)) continue;
        bytes += token_bytes(id);
    }
    std::string out;
    utf8_take_complete(bytes, &out, true);
    return out;
}

int32_t Tokenizer::token_id(std::string_view token) const {
    for (const AddedToken& a : impl_->added)
        if (a.content == token) return a.id;
    auto it = impl_->vocab.find(std::string(token));
    return it == impl_->vocab.end() ? -1 : it->second;
}

bool Tokenizer::is_special(int32_t id) const {
    return id >= 0 && size_t(id) < impl_->id_flags.size() && (impl_->id_flags[size_t(id)] & 2);
}
bool Tokenizer::is_added(int32_t id) const {
    return id >= 0 && size_t(id) < impl_->id_flags.size() && (impl_->id_flags[size_t(id)] & 1);
}
int32_t Tokenizer::vocab_size() const { return int32_t(impl_->id_to_token.size()); }

// ---------------------------------------------------------------------------------------------------------------

void utf8_take_complete(std::string& pending, std::string* out, bool final_flush) {
    size_t i = 0;
    const size_t n = pending.size();
    while (i < n) {
        const uint8_t c = uint8_t(pending[i]);
        size_t        len;
        if (c < 0x80) len = 1;
        else if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c >= 0xE0 && c <= 0xEF) len = 3;
        else if (c >= 0xF0 && c <= 0xF4) len = 4;
        else {
            out->append("\xEF\xBF\xBD"); // invalid lead byte
            ++i;
            continue;
        }
        // Check continuation bytes present so far (with the overlong/surrogate limits on the second byte).
        size_t have = 1;
        bool   bad  = false;
        for (; have < len && i + have < n; ++have) {
            const uint8_t cc = uint8_t(pending[i + have]);
            uint8_t       lo = 0x80, hi = 0xBF;
            if (have == 1) {
                if (c == 0xE0) lo = 0xA0;
                if (c == 0xED) hi = 0x9F;
                if (c == 0xF0) lo = 0x90;
                if (c == 0xF4) hi = 0x8F;
            }
            if (cc < lo || cc > hi) {
                bad = true;
                break;
            }
        }
        if (bad) {
            out->append("\xEF\xBF\xBD");
            i += have; // the valid prefix of the broken sequence becomes one replacement character
            continue;
        }
        if (have < len) { // incomplete at the end
            if (final_flush) {
                out->append("\xEF\xBF\xBD");
                i = n;
            }
            break;
        }
        out->append(pending, i, len);
        i += len;
    }
    pending.erase(0, i);
}

std::string StreamingDecoder::push(int32_t id) {
    if (!(skip_special_ && tok_.is_special(id))) pending_ += tok_.token_bytes(id);
    std::string out;
    utf8_take_complete(pending_, &out, false);
    return out;
}

std::string StreamingDecoder::flush() {
    std::string out;
    utf8_take_complete(pending_, &out, true);
    return out;
}

} // namespace glmv
