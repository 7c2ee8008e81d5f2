// safetensors reader/writer. The reader validates the whole header before exposing a single tensor (reliability.md
// §10.3 lists the malformations covered by tests/inference/test_safetensors.cpp).
#include "glmv/inference/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "glmv/inference/limits.h"

namespace glmv {

using json = nlohmann::json;

const char* dtype_name(DType t) {
    switch (t) {
    case DType::f64: return "F64";
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::i64: return "I64";
    case DType::i32: return "I32";
    case DType::i16: return "I16";
    case DType::i8: return "I8";
    case DType::u8: return "U8";
    case DType::boolean: return "BOOL";
    }
    return "?";
}

size_t dtype_size(DType t) {
    switch (t) {
    case DType::f64:
    case DType::i64: return 8;
    case DType::f32:
    case DType::i32: return 4;
    case DType::f16:
    case DType::bf16:
    case DType::i16: return 2;
    case DType::i8:
    case DType::u8:
    case DType::boolean: return 1;
    }
    return 0;
}

bool dtype_from_name(const std::string& name, DType* out) {
    static const std::pair<const char*, DType> table[] = {
        {"F64", DType::f64}, {"F32", DType::f32}, {"F16", DType::f16}, {"BF16", DType::bf16}, {"I64", DType::i64},
        {"I32", DType::i32}, {"I16", DType::i16}, {"I8", DType::i8},   {"U8", DType::u8},     {"BOOL", DType::boolean},
    };
    for (auto& [n, t] : table)
        if (name == n) {
            *out = t;
            return true;
        }
    return false;
}

int64_t TensorView::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

// ---------------------------------------------------------------------------------------------------------------
// MappedFile

Result<MappedFile> MappedFile::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status(errno == ENOENT ? ErrorCode::not_found : ErrorCode::io_error,
                              "cannot open '" + path + "': " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return Status(ErrorCode::io_error, "'" + path + "' is not a regular file");
    }
    MappedFile f;
    f.path_ = path;
    f.size_ = uint64_t(st.st_size);
    if (f.size_ > 0) {
        void* p = mmap(nullptr, f.size_, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            ::close(fd);
            return Status(ErrorCode::io_error, "cannot map '" + path + "': " + std::strerror(e));
        }
        f.data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
    return f;
}

MappedFile::MappedFile(MappedFile&& o) noexcept : data_(o.data_), size_(o.size_), path_(std::move(o.path_)) {
    o.data_ = nullptr;
    o.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
    if (this != &o) {
        if (data_) munmap(const_cast<uint8_t*>(data_), size_);
        data_ = o.data_;
        size_ = o.size_;
        path_ = std::move(o.path_);
        o.data_ = nullptr;
        o.size_ = 0;
    }
    return *this;
}

MappedFile::~MappedFile() {
    if (data_) munmap(const_cast<uint8_t*>(data_), size_);
}

// ---------------------------------------------------------------------------------------------------------------
// Reader

namespace {

Status bad(const std::string& msg) { return Status(ErrorCode::bad_format, msg); }

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }

bool valid_utf8(const uint8_t* s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        int     len;
        if (c < 0x80) len = 1;
        else if ((c >> 5) == 0x6) len = 2;
        else if ((c >> 4) == 0xE) len = 3;
        else if ((c >> 3) == 0x1E) len = 4;
        else return false;
        if (i + len > n) return false;
        for (int k = 1; k < len; ++k)
            if ((s[i + k] & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

} // namespace

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
    auto m = MappedFile::open(path);
    if (!m) return m.status();
    auto mapping = std::make_shared<MappedFile>(std::move(m.value()));
    auto parsed  = parse(mapping->data(), mapping->size(), path);
    if (!parsed) return parsed.status();
    parsed.value().mapping_ = std::move(mapping);
    return parsed;
}

Result<SafetensorsFile> SafetensorsFile::parse(const uint8_t* data, uint64_t size, const std::string& label) {
    auto fail = [&](const std::string& msg) { return bad(label + ": " + msg); };
    if (size < 8) return fail("file is " + std::to_string(size) + " bytes, too short for a safetensors header");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
    if (n == 0) return fail("header length is 0");
    if (n > limits::safetensors_max_header_bytes)
        return fail("header length " + std::to_string(n) + " exceeds the 100 MB limit (corrupt file?)");
    if (n > size - 8)
        return fail("header length " + std::to_string(n) + " runs past the end of the file (" + std::to_string(size) +
                    " bytes): the file is truncated or not safetensors");
    const uint8_t* hdr = data + 8;
    if (!valid_utf8(hdr, n)) return fail("header is not valid UTF-8");
    // The header may be padded with trailing spaces; it must start with '{'.
    if (hdr[0] != '{') return fail("header does not start with '{'");

    // Reject duplicate top-level keys: the JSON library would silently keep the last one, which would let two
    // entries describe the same name differently.
    std::set<std::string> seen_keys;
    bool                  duplicate = false;
    std::string           dup_name;
    json                  j;
    try {
        j = json::parse(hdr, hdr + n, [&](int depth, json::parse_event_t ev, json& parsed) {
            if (ev == json::parse_event_t::key && depth == 1) {
                std::string k = parsed.get<std::string>();
                if (!seen_keys.insert(k).second) {
                    duplicate = true;
                    dup_name  = k;
                }
            }
            return true;
        });
    } catch (const std::exception& e) {
        return fail(std::string("header is not valid JSON: ") + e.what());
    }
    if (duplicate) return fail("header lists '" + dup_name + "' twice");
    if (!j.is_object()) return fail("header is not a JSON object");

    const uint64_t  data_begin = 8 + n;
    const uint64_t  data_len   = size - data_begin;
    SafetensorsFile out;
    out.label_ = label;
    struct Span {
        uint64_t begin, end;
        size_t   idx;
    };
    std::vector<Span> spans;
    if (j.size() > limits::safetensors_max_tensors) return fail("too many tensors");
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& name = it.key();
        const json&        e    = it.value();
        if (name == "__metadata__") {
            if (!e.is_object()) return fail("__metadata__ is not an object");
            for (auto m = e.begin(); m != e.end(); ++m) {
                if (!m.value().is_string()) return fail("__metadata__ value '" + m.key() + "' is not a string");
                out.metadata_[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        auto tfail = [&](const std::string& msg) { return fail("tensor '" + name + "': " + msg); };
        if (!e.is_object()) return tfail("entry is not an object");
        auto dt = e.find("dtype");
        auto sh = e.find("shape");
        auto of = e.find("data_offsets");
        if (dt == e.end() || !dt->is_string()) return tfail("missing dtype");
        if (sh == e.end() || !sh->is_array()) return tfail("missing shape");
        if (of == e.end() || !of->is_array() || of->size() != 2) return tfail("data_offsets must be [begin, end]");
        TensorView tv;
        tv.name = name;
        if (!dtype_from_name(dt->get<std::string>(), &tv.dtype))
            return tfail("unknown dtype '" + dt->get<std::string>() + "'");
        if (sh->size() > size_t(limits::safetensors_max_rank))
            return tfail("rank " + std::to_string(sh->size()) + " exceeds " +
                         std::to_string(limits::safetensors_max_rank));
        uint64_t numel = 1;
        for (const json& d : *sh) {
            if (!d.is_number_integer()) return tfail("shape has a non-integer dimension");
            if (d.is_number_unsigned() ? d.get<uint64_t>() > uint64_t(limits::safetensors_max_dim)
                                       : (d.get<int64_t>() < 0 || d.get<int64_t>() > limits::safetensors_max_dim))
                return tfail("dimension " + d.dump() + " is negative or absurdly large");
            int64_t v = d.get<int64_t>();
            if (mul_overflows(numel, uint64_t(v), &numel)) return tfail("shape product overflows");
            tv.shape.push_back(v);
        }
        uint64_t expect_bytes = 0;
        if (mul_overflows(numel, dtype_size(tv.dtype), &expect_bytes)) return tfail("byte size overflows");
        const json& b = (*of)[0];
        const json& en = (*of)[1];
        if (!b.is_number_unsigned() || !en.is_number_unsigned()) {
            if (!(b.is_number_integer() && en.is_number_integer() && b.get<int64_t>() >= 0 && en.get<int64_t>() >= 0))
                return tfail("data_offsets are not non-negative integers");
        }
        uint64_t begin = b.get<uint64_t>(), end = en.get<uint64_t>();
        if (end < begin) return tfail("data_offsets are reversed");
        if (end > data_len)
            return tfail("data ends at byte " + std::to_string(end) + " of a " + std::to_string(data_len) +
                         "-byte data region: the file is truncated");
        if (end - begin != expect_bytes)
            return tfail("holds " + std::to_string(end - begin) + " bytes but dtype × shape needs " +
                         std::to_string(expect_bytes));
        tv.data   = data + data_begin + begin;
        tv.nbytes = expect_bytes;
        spans.push_back({begin, end, out.tensors_.size()});
        out.tensors_.push_back(std::move(tv));
    }
    // Offsets must tile [0, data_len) exactly: no overlap, no hole, no trailing bytes.
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t cursor = 0;
    for (const Span& s : spans) {
        const std::string& nm = out.tensors_[s.idx].name;
        if (s.begin < cursor) return fail("tensor '" + nm + "' overlaps the previous tensor");
        if (s.begin > cursor) return fail("a hole of unused bytes before tensor '" + nm + "'");
        cursor = s.end;
    }
    if (cursor != data_len)
        return fail(std::to_string(data_len - cursor) + " trailing bytes after the last tensor");
    for (size_t i = 0; i < out.tensors_.size(); ++i) out.index_[out.tensors_[i].name] = i;
    return out;
}

void drop_mapped_pages(const void* data, uint64_t nbytes) {
    const uintptr_t page  = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
    const uintptr_t end   = (reinterpret_cast<uintptr_t>(data) + nbytes) & ~(page - 1);
    if (data && end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

void prefetch_mapped_pages(const void* data, uint64_t nbytes) {
    const uintptr_t page  = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = reinterpret_cast<uintptr_t>(data) & ~(page - 1);
    if (data && nbytes > 0) madvise(reinterpret_cast<void*>(begin), reinterpret_cast<uintptr_t>(data) + nbytes - begin, MADV_WILLNEED);
}

void SafetensorsFile::release_pages() const {
    if (mapping_ && mapping_->data()) madvise(const_cast<uint8_t*>(mapping_->data()), mapping_->size(), MADV_DONTNEED);
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

// ---------------------------------------------------------------------------------------------------------------
// Conversions

float bf16_to_f32(uint16_t v) {
    uint32_t u = uint32_t(v) << 16;
    float    f;
    std::memcpy(&f, &u, 4);
    return f;
}

uint16_t f32_to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) return uint16_t((u >> 16) | 0x40); // quiet NaN
    u += 0x7fff + ((u >> 16) & 1);
    return uint16_t(u >> 16);
}

float f16_to_f32(uint16_t h) {
    uint32_t sign = uint32_t(h & 0x8000) << 16;
    uint32_t exp  = (h >> 10) & 0x1f;
    uint32_t man  = h & 0x3ff;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) u = sign;
        else { // subnormal: normalise
            int e = -1;
            do {
                ++e;
                man <<= 1;
            } while (!(man & 0x400));
            u = sign | uint32_t(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) u = sign | 0x7f800000 | man << 13;
    else u = sign | (exp + 112) << 23 | man << 13;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

template <class T> static T load_unaligned(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

std::vector<float> tensor_to_f32(const TensorView& t) {
    const int64_t      n = t.numel();
    std::vector<float> out(static_cast<size_t>(n));
    const uint8_t*     p = t.data;
    for (int64_t i = 0; i < n; ++i) {
        switch (t.dtype) {
        case DType::f64: out[i] = float(load_unaligned<double>(p + 8 * i)); break;
        case DType::f32: out[i] = load_unaligned<float>(p + 4 * i); break;
        case DType::f16: out[i] = f16_to_f32(load_unaligned<uint16_t>(p + 2 * i)); break;
        case DType::bf16: out[i] = bf16_to_f32(load_unaligned<uint16_t>(p + 2 * i)); break;
        case DType::i64: out[i] = float(load_unaligned<int64_t>(p + 8 * i)); break;
        case DType::i32: out[i] = float(load_unaligned<int32_t>(p + 4 * i)); break;
        case DType::i16: out[i] = float(load_unaligned<int16_t>(p + 2 * i)); break;
        case DType::i8: out[i] = float(int8_t(p[i])); break;
        case DType::u8:
        case DType::boolean: out[i] = float(p[i]); break;
        }
    }
    return out;
}

std::vector<int64_t> tensor_to_i64(const TensorView& t) {
    const int64_t        n = t.numel();
    std::vector<int64_t> out(static_cast<size_t>(n));
    const uint8_t*       p = t.data;
    for (int64_t i = 0; i < n; ++i) {
        switch (t.dtype) {
        case DType::i64: out[i] = load_unaligned<int64_t>(p + 8 * i); break;
        case DType::i32: out[i] = load_unaligned<int32_t>(p + 4 * i); break;
        case DType::i16: out[i] = load_unaligned<int16_t>(p + 2 * i); break;
        case DType::i8: out[i] = int8_t(p[i]); break;
        case DType::u8:
        case DType::boolean: out[i] = p[i]; break;
        case DType::f32: out[i] = int64_t(load_unaligned<float>(p + 4 * i)); break;
        case DType::f64: out[i] = int64_t(load_unaligned<double>(p + 8 * i)); break;
        case DType::f16: out[i] = int64_t(f16_to_f32(load_unaligned<uint16_t>(p + 2 * i))); break;
        case DType::bf16: out[i] = int64_t(bf16_to_f32(load_unaligned<uint16_t>(p + 2 * i))); break;
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Writer

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data,
                            uint64_t nbytes) {
    Entry e{name, dtype, std::move(shape), {}};
    e.bytes.assign(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + nbytes);
    entries_.push_back(std::move(e));
}

void SafetensorsWriter::add_f32(const std::string& name, std::vector<int64_t> shape, const float* data) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    add(name, DType::f32, std::move(shape), data, uint64_t(n) * 4);
}

void SafetensorsWriter::add_i64(const std::string& name, std::vector<int64_t> shape, const int64_t* data) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    add(name, DType::i64, std::move(shape), data, uint64_t(n) * 8);
}

std::string safetensors_header(const std::vector<TensorEntry>& tensors, const std::map<std::string, std::string>& metadata,
                               uint64_t align) {
    json     hdr = json::object();
    uint64_t off = 0;
    if (!metadata.empty()) hdr["__metadata__"] = metadata;
    for (const TensorEntry& e : tensors) {
        hdr[e.name] = {{"dtype", dtype_name(e.dtype)}, {"shape", e.shape}, {"data_offsets", {off, off + e.nbytes}}};
        off += e.nbytes;
    }
    std::string h = hdr.dump();
    if (align == 0) align = 1;
    while ((h.size() + 8) % align != 0) h.push_back(' ');
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i) out[size_t(i)] = char(uint8_t(uint64_t(h.size()) >> (8 * i)));
    return out + h;
}

Status SafetensorsWriter::write(const std::string& path) const {
    std::vector<TensorEntry> list;
    for (const Entry& e : entries_) list.push_back({e.name, e.dtype, e.shape, e.bytes.size()});
    const std::string prefix = safetensors_header(list, metadata_); // 8-byte alignment of the data region, as upstream
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) return Status(ErrorCode::io_error, "cannot write '" + tmp + "'");
        f.write(prefix.data(), std::streamsize(prefix.size()));
        for (const Entry& e : entries_) f.write(reinterpret_cast<const char*>(e.bytes.data()), std::streamsize(e.bytes.size()));
        if (!f) return Status(ErrorCode::io_error, "failed writing '" + tmp + "' (disk full?)");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) return Status(ErrorCode::io_error, "cannot rename '" + tmp + "' to '" + path + "': " + ec.message());
    return {};
}

} // namespace glmv
