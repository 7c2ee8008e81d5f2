// Anchors the glmv_media static library; the decoders live in src/.
namespace glmv::media {
int library_anchor = 0;
}
