#include "tokenizer/json_scan.h"

#include <cstdlib>

namespace glmv::json_scan {

namespace {

void skip_ws(std::string_view t, size_t& p) {
    while (p < t.size() && (t[p] == ' ' || t[p] == '\n' || t[p] == '\r' || t[p] == '\t')) ++p;
}

void append_utf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) out->push_back(char(cp));
    else if (cp < 0x800) {
        out->push_back(char(0xC0 | (cp >> 6)));
        out->push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out->push_back(char(0xE0 | (cp >> 12)));
        out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out->push_back(char(0x80 | (cp & 0x3F)));
    } else {
        out->push_back(char(0xF0 | (cp >> 18)));
        out->push_back(char(0x80 | ((cp >> 12) & 0x3F)));
        out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out->push_back(char(0x80 | (cp & 0x3F)));
    }
}

bool hex4(std::string_view t, size_t p, uint32_t* v) {
    if (p + 4 > t.size()) return false;
    *v = 0;
    for (size_t i = p; i < p + 4; ++i) {
        char c = t[i];
        *v <<= 4;
        if (c >= '0' && c <= '9') *v |= uint32_t(c - '0');
        else if (c >= 'a' && c <= 'f') *v |= uint32_t(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') *v |= uint32_t(c - 'A' + 10);
        else return false;
    }
    return true;
}

} // namespace

bool parse_string(std::string_view t, size_t& p, std::string* out) {
    if (p >= t.size() || t[p] != '"') return false;
    ++p;
    out->clear();
    while (p < t.size()) {
        char c = t[p];
        if (c == '"') {
            ++p;
            return true;
        }
        if (static_cast<unsigned char>(c) < 0x20) return false;
        if (c != '\\') {
            out->push_back(c);
            ++p;
            continue;
        }
        if (++p >= t.size()) return false;
        switch (t[p]) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
            uint32_t cp;
            if (!hex4(t, p + 1, &cp)) return false;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00) { // surrogate pair
                uint32_t lo;
                if (p + 6 < t.size() + 0 && t[p + 1] == '\\' && t[p + 2] == 'u' && hex4(t, p + 3, &lo) && lo >= 0xDC00 &&
                    lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                } else cp = 0xFFFD;
            } else if (cp >= 0xDC00 && cp < 0xE000) cp = 0xFFFD;
            append_utf8(out, cp);
            break;
        }
        default: return false;
        }
        ++p;
    }
    return false;
}

size_t skip_value(std::string_view t, size_t p) {
    skip_ws(t, p);
    if (p >= t.size()) return std::string_view::npos;
    if (t[p] == '"') {
        ++p;
        while (p < t.size() && t[p] != '"') p += (t[p] == '\\') ? 2 : 1;
        return p < t.size() ? p + 1 : std::string_view::npos;
    }
    if (t[p] == '{' || t[p] == '[') {
        int depth = 0;
        while (p < t.size()) {
            char c = t[p];
            if (c == '"') {
                ++p;
                while (p < t.size() && t[p] != '"') p += (t[p] == '\\') ? 2 : 1;
                if (p >= t.size()) return std::string_view::npos;
            } else if (c == '{' || c == '[') ++depth;
            else if (c == '}' || c == ']') {
                if (--depth == 0) return p + 1;
            }
            ++p;
        }
        return std::string_view::npos;
    }
    while (p < t.size() && t[p] != ',' && t[p] != '}' && t[p] != ']' && t[p] != ' ' && t[p] != '\n' && t[p] != '\r' &&
           t[p] != '\t')
        ++p;
    return p;
}

std::pair<size_t, size_t> find_member(std::string_view t, size_t p, std::string_view key) {
    const auto none = std::make_pair(std::string_view::npos, std::string_view::npos);
    skip_ws(t, p);
    if (p >= t.size() || t[p] != '{') return none;
    ++p;
    std::string k;
    while (true) {
        skip_ws(t, p);
        if (p >= t.size() || t[p] == '}') return none;
        if (!parse_string(t, p, &k)) return none;
        skip_ws(t, p);
        if (p >= t.size() || t[p] != ':') return none;
        ++p;
        skip_ws(t, p);
        size_t end = skip_value(t, p);
        if (end == std::string_view::npos) return none;
        if (k == key) return {p, end};
        p = end;
        skip_ws(t, p);
        if (p < t.size() && t[p] == ',') ++p;
    }
}

Status parse_vocab(std::string_view t, std::vector<std::pair<std::string, int64_t>>* out) {
    size_t p = 0;
    skip_ws(t, p);
    if (p >= t.size() || t[p] != '{') return Status(ErrorCode::bad_format, "model.vocab is not an object");
    ++p;
    std::string key;
    while (true) {
        skip_ws(t, p);
        if (p < t.size() && t[p] == '}') return {};
        if (!parse_string(t, p, &key)) return Status(ErrorCode::bad_format, "model.vocab: malformed token string");
        skip_ws(t, p);
        if (p >= t.size() || t[p] != ':') return Status(ErrorCode::bad_format, "model.vocab: expected ':'");
        ++p;
        skip_ws(t, p);
        char*       end = nullptr;
        const char* beg = t.data() + p;
        if (p >= t.size() || !(t[p] == '-' || (t[p] >= '0' && t[p] <= '9')))
            return Status(ErrorCode::bad_format, "model.vocab: id of '" + key + "' is not an integer");
        long long id = std::strtoll(beg, &end, 10);
        if (end == beg || end > t.data() + t.size()) return Status(ErrorCode::bad_format, "model.vocab: bad id");
        p = size_t(end - t.data());
        out->emplace_back(std::move(key), id);
        skip_ws(t, p);
        if (p < t.size() && t[p] == ',') ++p;
        else if (p < t.size() && t[p] == '}') return {};
        else return Status(ErrorCode::bad_format, "model.vocab: expected ',' or '}'");
    }
}

Status parse_merges(std::string_view t, std::vector<std::pair<std::string, std::string>>* out) {
    size_t p = 0;
    skip_ws(t, p);
    if (p >= t.size() || t[p] != '[') return Status(ErrorCode::bad_format, "model.merges is not a list");
    ++p;
    std::string a, b;
    while (true) {
        skip_ws(t, p);
        if (p < t.size() && t[p] == ']') return {};
        if (p < t.size() && t[p] == '[') {
            ++p;
            skip_ws(t, p);
            if (!parse_string(t, p, &a)) return Status(ErrorCode::bad_format, "model.merges: malformed pair");
            skip_ws(t, p);
            if (p >= t.size() || t[p] != ',') return Status(ErrorCode::bad_format, "model.merges: pair needs 2 strings");
            ++p;
            skip_ws(t, p);
            if (!parse_string(t, p, &b)) return Status(ErrorCode::bad_format, "model.merges: malformed pair");
            skip_ws(t, p);
            if (p >= t.size() || t[p] != ']') return Status(ErrorCode::bad_format, "model.merges: pair needs 2 strings");
            ++p;
        } else {
            std::string s;
            if (!parse_string(t, p, &s)) return Status(ErrorCode::bad_format, "model.merges: malformed entry");
            auto sp = s.find(' ', 1);
            if (sp == std::string::npos) return Status(ErrorCode::bad_format, "model.merges: entry '" + s + "' is not 'a b'");
            a = s.substr(0, sp);
            b = s.substr(sp + 1);
        }
        out->emplace_back(a, b);
        skip_ws(t, p);
        if (p < t.size() && t[p] == ',') ++p;
        else if (p < t.size() && t[p] == ']') return {};
        else return Status(ErrorCode::bad_format, "model.merges: expected ',' or ']'");
    }
}

} // namespace glmv::json_scan
