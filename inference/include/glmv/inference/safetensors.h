// safetensors reading (memory-mapped, fully validated) and writing.
//
//   auto f = glmv::SafetensorsFile::open("model.safetensors");
//   if (!f) return f.status();
//   const glmv::TensorView* w = f->find("lm_head.weight");   // nullptr when absent
//   std::vector<float> x = glmv::tensor_to_f32(*w);
//
//   glmv::SafetensorsWriter out;
//   out.add_f32("logits", {S, V}, logits.data());
//   GLMV_RETURN_IF_ERROR(out.write("out.safetensors"));
//
// Validation follows the format's rules (reliability.md): header length within the file and ≤ 100 MB, header is a
// JSON object, known dtypes, rank ≤ 8, non-negative dims with overflow-checked products, byte size = dtype size ×
// elements, offsets contiguous and covering the data region exactly (no holes, no overlap, no trailing bytes).
// A file that passes never leads to a read outside the mapping.
//
// Threading: a SafetensorsFile is immutable after open and may be shared by threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "glmv/common/status.h"

namespace glmv {

enum class DType { f64, f32, f16, bf16, i64, i32, i16, i8, u8, boolean };

// "F32", "BF16", ... as written in safetensors headers.
const char* dtype_name(DType t);
size_t      dtype_size(DType t);
bool        dtype_from_name(const std::string& name, DType* out);

struct TensorView {
    std::string          name;
    DType                dtype = DType::f32;
    std::vector<int64_t> shape;
    const uint8_t*       data   = nullptr; // points into the mapping; valid while the file is open
    uint64_t             nbytes = 0;

    int64_t numel() const;
};

// A read-only memory mapping of a whole file. Move-only.
class MappedFile {
  public:
    static Result<MappedFile> open(const std::string& path);
    MappedFile() = default;
    MappedFile(MappedFile&&) noexcept;
    MappedFile& operator=(MappedFile&&) noexcept;
    MappedFile(const MappedFile&)            = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    const uint8_t*     data() const { return data_; }
    uint64_t           size() const { return size_; }
    const std::string& path() const { return path_; }

  private:
    const uint8_t* data_ = nullptr;
    uint64_t       size_ = 0;
    std::string    path_;
};

class SafetensorsFile {
  public:
    // Maps and validates the file. No tensor data is read or copied.
    static Result<SafetensorsFile> open(const std::string& path);
    // Validates a buffer in memory (the caller keeps it alive). Used by the fuzzer and tests.
    static Result<SafetensorsFile> parse(const uint8_t* data, uint64_t size, const std::string& label);

    const TensorView*                         find(const std::string& name) const;
    const std::vector<TensorView>&            tensors() const { return tensors_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const std::string&                        label() const { return label_; }
    // madvise(DONTNEED) on the whole mapping: drops resident pages; later reads fault them back in.
    void                                      release_pages() const;

  private:
    std::shared_ptr<MappedFile>        mapping_; // null when parsing a caller's buffer
    std::vector<TensorView>            tensors_;
    std::map<std::string, size_t>      index_;
    std::map<std::string, std::string> metadata_;
    std::string                        label_;
};

// Converts any float dtype (f32/f16/bf16/f64) or integer dtype to f32.
std::vector<float>   tensor_to_f32(const TensorView& t);
// Converts an integer tensor (i64/i32/i16/i8/u8) to int64.
std::vector<int64_t> tensor_to_i64(const TensorView& t);

// madvise(DONTNEED) on the whole pages inside [data, data + nbytes) of a read-only mapping: a pass that read them
// once (quantising, copying) does not keep them resident; later reads fault them back in from the file.
void drop_mapped_pages(const void* data, uint64_t nbytes);
// madvise(WILLNEED): starts reading those pages from the file in the background, so a streaming pass can compute on
// one block while the kernel reads the next.
void prefetch_mapped_pages(const void* data, uint64_t nbytes);

float bf16_to_f32(uint16_t v);
float f16_to_f32(uint16_t v);
uint16_t f32_to_bf16(float v); // round to nearest even

// A tensor of a header being written; the data regions follow in the order given, back to back.
struct TensorEntry {
    std::string          name;
    DType                dtype = DType::f32;
    std::vector<int64_t> shape;
    uint64_t             nbytes = 0;
};

// The bytes in front of the data region: the 8-byte little-endian header length, then the JSON header padded with
// spaces so that the data region starts at a multiple of `align` bytes (8 as upstream; 64 for cache lines). For
// writers that stream the data themselves (glmv-cli quantize).
std::string safetensors_header(const std::vector<TensorEntry>& tensors, const std::map<std::string, std::string>& metadata,
                               uint64_t align = 8);

class SafetensorsWriter {
  public:
    void add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data, uint64_t nbytes);
    void add_f32(const std::string& name, std::vector<int64_t> shape, const float* data);
    void add_i64(const std::string& name, std::vector<int64_t> shape, const int64_t* data);
    void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
    // Writes atomically (temp file + rename).
    Status write(const std::string& path) const;

  private:
    struct Entry {
        std::string          name;
        DType                dtype;
        std::vector<int64_t> shape;
        std::vector<uint8_t> bytes;
    };
    std::vector<Entry>                 entries_;
    std::map<std::string, std::string> metadata_;
};

} // namespace glmv
