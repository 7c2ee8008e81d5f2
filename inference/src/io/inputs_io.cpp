#include "glmv/inference/inputs_io.h"

#include "glmv/inference/safetensors.h"

namespace glmv {

namespace {

Status read_grids(const SafetensorsFile& f, const std::string& name, std::vector<GridTHW>* out) {
    const TensorView* t = f.find(name);
    if (!t) return {};
    if (t->shape.size() != 2 || t->shape[1] != 3)
        return Status(ErrorCode::bad_format, f.label() + ": '" + name + "' must have shape [k, 3]");
    auto v = tensor_to_i64(*t);
    for (size_t i = 0; i + 3 <= v.size(); i += 3) out->push_back({v[i], v[i + 1], v[i + 2]});
    return {};
}

Status read_pixels(const SafetensorsFile& f, const std::string& name, std::vector<float>* out) {
    const TensorView* t = f.find(name);
    if (!t) return {};
    if (t->shape.size() != 2) return Status(ErrorCode::bad_format, f.label() + ": '" + name + "' must be 2-D [N, 1176]");
    *out = tensor_to_f32(*t);
    return {};
}

} // namespace

Result<ModelInputs> read_model_inputs(const std::string& path) {
    auto f = SafetensorsFile::open(path);
    if (!f) return f.status();
    ModelInputs       in;
    const TensorView* ids = f->find("input_ids");
    if (!ids) return Status(ErrorCode::not_found, path + ": no 'input_ids' tensor");
    if (ids->shape.empty() || ids->shape.size() > 2 || (ids->shape.size() == 2 && ids->shape[0] != 1))
        return Status(ErrorCode::bad_format, path + ": 'input_ids' must have shape [1, S] (batch size 1)");
    in.input_ids = tensor_to_i64(*ids);
    if (const TensorView* mm = f->find("mm_token_type_ids")) {
        in.mm_token_type_ids = tensor_to_i64(*mm);
        if (in.mm_token_type_ids.size() != in.input_ids.size())
            return Status(ErrorCode::bad_format, path + ": 'mm_token_type_ids' and 'input_ids' differ in length");
    }
    GLMV_RETURN_IF_ERROR(read_pixels(*f, "pixel_values", &in.pixel_values));
    GLMV_RETURN_IF_ERROR(read_grids(*f, "image_grid_thw", &in.image_grid_thw));
    GLMV_RETURN_IF_ERROR(read_pixels(*f, "pixel_values_videos", &in.pixel_values_videos));
    GLMV_RETURN_IF_ERROR(read_grids(*f, "video_grid_thw", &in.video_grid_thw));
    return in;
}

Status write_model_inputs(const std::string& path, const ModelInputs& in) {
    SafetensorsWriter w;
    const int64_t     S = int64_t(in.input_ids.size());
    w.add_i64("input_ids", {1, S}, in.input_ids.data());
    if (!in.mm_token_type_ids.empty()) w.add_i64("mm_token_type_ids", {1, S}, in.mm_token_type_ids.data());
    auto add_media = [&](const char* px_name, const char* grid_name, const std::vector<float>& px,
                         const std::vector<GridTHW>& grids) {
        if (grids.empty()) return;
        std::vector<int64_t> g;
        int64_t              rows = 0;
        for (const GridTHW& x : grids) {
            g.insert(g.end(), {x.t, x.h, x.w});
            rows += x.patches();
        }
        const int64_t cols = rows ? int64_t(px.size()) / rows : 0;
        w.add_f32(px_name, {rows, cols}, px.data());
        w.add_i64(grid_name, {int64_t(grids.size()), 3}, g.data());
    };
    add_media("pixel_values", "image_grid_thw", in.pixel_values, in.image_grid_thw);
    add_media("pixel_values_videos", "video_grid_thw", in.pixel_values_videos, in.video_grid_thw);
    return w.write(path);
}

} // namespace glmv
