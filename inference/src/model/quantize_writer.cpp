// quantize_model: writes a quantised model folder (format: glmv/inference/quantize.h). The source is loaded like any
// model (so a folder the engine cannot load is refused before anything is written), and the matrices to quantise are
// the ones Model::load lists while binding, quantised by the same ops::quantize_matrix: the written bytes are the
// bytes load-time quantisation would hold in memory.
//
// Output is streamed: one shard at a time, a quantised matrix in chunks of about 32 MiB of source, so memory stays
// small whatever the model size; the next chunk is read ahead and the last one written behind (WriteBehind) while
// one is quantised, and the source pages read are dropped as the writer goes. The folder is built next to its
// destination and renamed into place when complete (io/output_folder.h).

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "glmv/common/disk_space.h"
#include "glmv/inference/quantize.h"
#include "io/output_folder.h"
#include "model/model_impl.h"
#include "model/quantized_format.h"
#include "ops/kernels.h"

namespace glmv {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kChunkBytes = 32ull << 20; // of source read between progress reports
constexpr uint64_t kDataAlign  = 64;          // the data region of each shard starts on a cache line

// One tensor, or one quantised matrix (data then scales), of an output shard.
struct Unit {
    const TensorView*        copy  = nullptr; // copied byte for byte
    const QuantizableMatrix* quant = nullptr; // or quantised
    std::vector<TensorEntry> entries;         // 1 (copy) or 2 (data, scales)
    uint64_t                 nbytes = 0;
    uint64_t                 align  = 1;
};

struct Shard {
    std::string       file_name;
    std::vector<Unit> units;  // in file order
    std::string       prefix; // length + JSON header
    uint64_t          data_bytes = 0;
    uint64_t          file_bytes() const { return prefix.size() + data_bytes; }
};

// The largest power of two up to 64 that divides n: a unit starting at such an offset keeps every tensor in it
// aligned to its own element size (all sizes are multiples of it).
uint64_t alignment_of(uint64_t n) {
    uint64_t a = kDataAlign;
    while (a > 1 && n % a != 0)
        a /= 2;
    return a;
}

Unit copy_unit(const TensorView& t) {
    Unit u;
    u.copy    = &t;
    u.entries = {{t.name, t.dtype, t.shape, t.nbytes}};
    u.nbytes  = t.nbytes;
    u.align   = alignment_of(t.nbytes);
    return u;
}

Unit quant_unit(const QuantizableMatrix& q, WeightFormat f) {
    const int64_t  R = q.matrix->rows, C = q.matrix->cols, DC = quantized::data_cols(C, f);
    const uint64_t data = uint64_t(R) * uint64_t(DC), scales = uint64_t(R) * uint64_t(C / ops::kQuantGroup) * 4;
    Unit           u;
    u.quant   = &q;
    u.entries = {{quantized::data_name(q.name, f), quantized::data_dtype(f), {R, DC}, data},
                 {quantized::scale_name(q.name, f), DType::f32, {R, C / ops::kQuantGroup}, scales}};
    u.nbytes  = data + scales;
    // The scales follow the data: both starts stay aligned when the unit starts at a multiple of both alignments.
    u.align = std::min(alignment_of(data), alignment_of(scales));
    return u;
}

// One output shard per source shard, with the same file name: quantised matrices replace their source tensor; a
// tied LM head goes next to the embedding table it is made from. Units are ordered by alignment, largest first, so
// each starts at a multiple of its own alignment (every earlier unit's size is a multiple of a larger one).
Result<std::vector<Shard>> plan_shards(const Model::Impl& m, WeightFormat f) {
    std::map<const TensorView*, const QuantizableMatrix*>              replaced;
    std::map<const TensorView*, std::vector<const QuantizableMatrix*>> tied;
    for (const QuantizableMatrix& q : m.quantizable) {
        if (q.tied)
            tied[q.source].push_back(&q);
        else
            replaced[q.source] = &q;
    }
    std::vector<Shard>    shards;
    std::set<std::string> names;
    for (const auto& file : m.store.files()) {
        Shard s;
        s.file_name = fs::path(file->label()).filename().string();
        for (const TensorView& t : file->tensors()) {
            auto r = replaced.find(&t);
            s.units.push_back(r == replaced.end() ? copy_unit(t) : quant_unit(*r->second, f));
            if (auto it = tied.find(&t); it != tied.end())
                for (const QuantizableMatrix* q : it->second)
                    s.units.push_back(quant_unit(*q, f));
        }
        std::stable_sort(s.units.begin(), s.units.end(),
                         [](const Unit& a, const Unit& b) { return a.align > b.align; });
        std::vector<TensorEntry> entries;
        for (const Unit& u : s.units) {
            for (const TensorEntry& e : u.entries) {
                // Names are unique (a source named like a quantised tensor is refused at load), but a clash
                // would silently drop a tensor from the JSON header, so it is checked.
                if (!names.insert(e.name).second)
                    return Status(ErrorCode::internal, "two output tensors are named '" + e.name + "'");
                entries.push_back(e);
            }
            s.data_bytes += u.nbytes;
        }
        std::map<std::string, std::string> metadata = file->metadata();
        for (auto& [k, v] : quantized::shard_metadata(f))
            metadata[k] = v;
        s.prefix = safetensors_header(entries, metadata, kDataAlign);
        shards.push_back(std::move(s));
    }
    return shards;
}

// Every file of the source folder that is not weights: config, tokenizer, processor, chat template, README, ...
// Hidden entries are skipped (.git of a git-lfs clone holds the weights a second time; .cache holds the hub's
// download state of the source files).
struct OtherFile {
    fs::path rel;
    uint64_t size = 0;
};

Result<std::vector<OtherFile>> list_other_files(const fs::path& src) {
    std::vector<OtherFile>           out;
    std::error_code                  ec;
    fs::recursive_directory_iterator it(src, ec), end;
    if (ec) return Status(ErrorCode::io_error, "cannot list '" + src.string() + "': " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) return Status(ErrorCode::io_error, "cannot list '" + src.string() + "': " + ec.message());
        const fs::path&   p    = it->path();
        const std::string name = p.filename().string();
        if (!name.empty() && name[0] == '.') {
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        if (!it->is_regular_file(ec)) continue; // follows symlinks (hub cache snapshots link to blobs)
        const std::string ext = p.extension().string();
        if (ext == ".safetensors" || ext == ".part" || name == "model.safetensors.index.json") continue;
        // lexically: a symlinked file must keep its name in the folder, not its target's path
        out.push_back({p.lexically_relative(src), fs::file_size(p, ec)});
        if (ec) return Status(ErrorCode::io_error, "cannot read '" + p.string() + "': " + ec.message());
    }
    return out;
}

// Streams the writing and reports progress; on_progress returning false cancels.
struct Writer {
    const QuantizeParams& params;
    QuantizeProgress      progress;

    Status advance(uint64_t bytes, const std::string& item) {
        progress.done_bytes += bytes;
        progress.item = item;
        if (params.on_progress && !params.on_progress(progress)) return Status(ErrorCode::cancelled, "cancelled");
        return {};
    }

    Status write_copy(WriteBehind& out, const TensorView& t, uint64_t offset) {
        for (uint64_t done = 0; done < t.nbytes;) {
            const uint64_t n = std::min(kChunkBytes, t.nbytes - done);
            prefetch_mapped_pages(t.data + done + n, std::min(kChunkBytes, t.nbytes - done - n));
            GLMV_RETURN_IF_ERROR(out.push({nullptr, t.data + done, n, offset + done}));
            done += n;
            GLMV_RETURN_IF_ERROR(advance(n, t.name));
        }
        return {};
    }

    // Quantises a block of rows at a time: each row is quantised on its own, so blocks give the same bytes as the
    // whole matrix at once.
    Status write_quantized(WriteBehind& out, const QuantizableMatrix& q, WeightFormat f, uint64_t offset) {
        const WeightMatrix& src = *q.matrix;
        const int64_t       R = src.rows, C = src.cols, G = C / ops::kQuantGroup;
        const uint64_t      row_bytes  = uint64_t(quantized::data_cols(C, f));
        const uint64_t      scale_base = offset + uint64_t(R) * row_bytes;
        const uint64_t      src_row    = uint64_t(C) * dtype_size(src.dtype);
        const int64_t       block      = std::max<int64_t>(1, int64_t(kChunkBytes / src_row));
        for (int64_t r0 = 0; r0 < R; r0 += block) {
            // Reading the next block from disk overlaps quantising this one (a cold 20 GB source is read once).
            const int64_t next = std::min(R, r0 + block);
            prefetch_mapped_pages(src.data + uint64_t(next) * src_row, uint64_t(std::min(block, R - next)) * src_row);
            ops::WeightMatrix part;
            part.dtype = src.dtype;
            part.data  = src.data + uint64_t(r0) * src_row;
            part.rows  = std::min(block, R - r0);
            part.cols  = C;
            auto data   = std::make_shared<ops::OwnedBytes>();
            auto scales = std::make_shared<ops::OwnedFloats>();
            ops::quantize_rows(part, quantized::to_quant(f), *data, *scales);
            const uint64_t n      = data->size() + scales->size() * 4;
            GLMV_RETURN_IF_ERROR(out.push({data, data->data(), data->size(), offset + uint64_t(r0) * row_bytes}));
            GLMV_RETURN_IF_ERROR(out.push({scales, reinterpret_cast<const uint8_t*>(scales->data()), scales->size() * 4,
                                           scale_base + uint64_t(r0) * uint64_t(G) * 4}));
            GLMV_RETURN_IF_ERROR(advance(n, q.name));
        }
        return {};
    }

    Status write_shard(const fs::path& dir, const Shard& s, WeightFormat f) {
        OutputFile out;
        GLMV_RETURN_IF_ERROR(out.open(dir / s.file_name));
        GLMV_RETURN_IF_ERROR(out.write_at(s.prefix.data(), s.prefix.size(), 0));
        GLMV_RETURN_IF_ERROR(advance(s.prefix.size(), s.file_name));
        {
            WriteBehind bg(out);
            uint64_t    offset = s.prefix.size();
            for (const Unit& u : s.units) {
                GLMV_RETURN_IF_ERROR(u.copy ? write_copy(bg, *u.copy, offset)
                                            : write_quantized(bg, *u.quant, f, offset));
                offset += u.nbytes;
            }
            GLMV_RETURN_IF_ERROR(bg.finish());
        }
        return out.sync_and_close();
    }
};

// Where the folder goes: refuses the source folder itself, a folder inside it or holding it, a file, and a
// non-empty folder unless `force` (and even then one that is not a model folder). True when `out` is to be replaced.
Result<bool> check_output_folder(const fs::path& src, const fs::path& out, bool force) {
    auto refuse = [](const std::string& msg) { return Status(ErrorCode::invalid_argument, msg); };
    if (path_is_within(out, src))
        return refuse("the output folder '" + out.string() + "' is the model folder or inside it: choose a "
                      "folder outside '" + src.string() + "'");
    if (path_is_within(src, out))
        return refuse("the output folder '" + out.string() + "' holds the model folder '" + src.string() +
                      "': choose another folder");
    std::error_code ec;
    if (!fs::exists(out, ec)) return false;
    if (!fs::is_directory(out, ec)) return refuse("'" + out.string() + "' exists and is not a folder");
    if (fs::is_empty(out, ec)) return false;
    if (!force)
        return refuse("'" + out.string() + "' is not empty: choose a new folder, or pass --force to replace it");
    // --force on the wrong path (a home folder, say) must not delete it: only a model folder is replaced.
    if (!fs::exists(out / "config.json", ec))
        return refuse("'" + out.string() + "' is not empty and is not a model folder (no config.json): not "
                      "replacing it even with --force");
    return true;
}

// model.safetensors.index.json of the output: every tensor's shard, the data bytes, the format.
std::string index_json(const std::vector<Shard>& shards, WeightFormat f) {
    uint64_t tensor_bytes = 0;
    for (const Shard& s : shards)
        tensor_bytes += s.data_bytes;
    nlohmann::json meta = {{"total_size", tensor_bytes}};
    for (auto& [k, v] : quantized::shard_metadata(f))
        meta[k] = v;
    nlohmann::json weight_map = nlohmann::json::object();
    for (const Shard& s : shards)
        for (const Unit& u : s.units)
            for (const TensorEntry& e : u.entries)
                weight_map[e.name] = s.file_name;
    return nlohmann::json{{"metadata", meta}, {"weight_map", weight_map}}.dump(2) + "\n";
}

} // namespace

Result<QuantizeResult> quantize_model(const std::string& model_dir, const std::string& out_dir,
                                      const QuantizeParams& params) {
    const WeightFormat f = params.weights;
    if (f != WeightFormat::q8 && f != WeightFormat::q4)
        return Status(ErrorCode::invalid_argument, "the quantised format must be q8 or q4");
    if (out_dir.empty()) return Status(ErrorCode::invalid_argument, "no output folder given");
    std::error_code ec;
    if (!fs::is_directory(model_dir, ec))
        return Status(ErrorCode::not_found, "model folder '" + model_dir + "' does not exist");
    const fs::path src = fs::weakly_canonical(model_dir, ec);
    fs::path       out = fs::weakly_canonical(fs::absolute(out_dir, ec), ec);
    if (ec) return Status(ErrorCode::invalid_argument, "cannot resolve '" + out_dir + "': " + ec.message());
    if (out.filename().empty()) out = out.parent_path();
    auto replace = check_output_folder(src, out, params.force);
    if (!replace) return replace.status();

    // The source is loaded like any model, so a folder the engine cannot load is refused before anything is written.
    auto model = Model::load(model_dir);
    if (!model) return model.status();
    const Model::Impl& m = model.value()->impl();
    if (m.weights != WeightFormat::bf16)
        return Status(ErrorCode::invalid_argument, "'" + model_dir + "' is already quantised (" +
                                                       weight_format_name(m.weights) +
                                                       "): quantise the original model folder instead");
    auto shards = plan_shards(m, f);
    if (!shards) return shards.status();
    auto others = list_other_files(src);
    if (!others) return others.status();
    const std::string index = m.store.has_index() ? index_json(*shards, f) : "";
    uint64_t          total = index.size();
    for (const Shard& s : *shards)
        total += s.file_bytes();
    for (const OtherFile& o : *others)
        total += o.size;

    const fs::path parent = out.parent_path();
    fs::create_directories(parent, ec);
    if (ec) return Status(ErrorCode::io_error, "cannot create '" + parent.string() + "': " + ec.message());
    GLMV_RETURN_IF_ERROR(ensure_free_space(parent.string(), total));

    auto tmp = TempFolder::create(out);
    if (!tmp) return tmp.status();
    const fs::path dir = tmp.value()->path();
    Writer         w{params, {}};
    w.progress.total_bytes = total;
    GLMV_RETURN_IF_ERROR(w.advance(0, "config"));
    for (const OtherFile& o : *others) {
        fs::create_directories((dir / o.rel).parent_path(), ec);
        fs::copy_file(src / o.rel, dir / o.rel, ec);
        if (ec) return Status(ErrorCode::io_error, "cannot copy '" + (src / o.rel).string() + "': " + ec.message());
        GLMV_RETURN_IF_ERROR(sync_path(dir / o.rel));
        GLMV_RETURN_IF_ERROR(w.advance(o.size, o.rel.string()));
    }
    for (const Shard& s : *shards)
        GLMV_RETURN_IF_ERROR(w.write_shard(dir, s, f));
    if (!index.empty()) {
        OutputFile idx;
        GLMV_RETURN_IF_ERROR(idx.open(dir / "model.safetensors.index.json"));
        GLMV_RETURN_IF_ERROR(idx.write_at(index.data(), index.size(), 0));
        GLMV_RETURN_IF_ERROR(idx.sync_and_close());
        GLMV_RETURN_IF_ERROR(w.advance(index.size(), "model.safetensors.index.json"));
    }
    GLMV_RETURN_IF_ERROR(sync_path(dir));
    GLMV_RETURN_IF_ERROR(move_folder_into_place(dir, out, replace.value()));
    tmp.value()->commit();
    GLMV_RETURN_IF_ERROR(sync_path(parent));

    QuantizeResult r;
    r.out_dir = out.string();
    r.bytes   = total;
    r.n_files = int(shards->size() + others->size() + (index.empty() ? 0 : 1));
    return r;
}

} // namespace glmv
