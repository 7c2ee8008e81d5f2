// Parity with Hugging Face's Glm4vImageProcessor (torchvision backend) on every glm4v-tiny fixture image:
// grid identical; pixel values within max abs 0.03 and mean abs 0.002 of pixels.<image>.torchvision
// (fixtures/README.md: the torchvision and PIL backends themselves differ by up to 0.03).
#include <nlohmann/json.hpp>

#include "glmv/inference/preprocess.h"
#include "glmv/media/image.h"
#include "parity_util.h"

using namespace glmv;

namespace {

nlohmann::json reference_json() {
    std::ifstream f(test::tiny_dir() + "/reference.json");
    return nlohmann::json::parse(f);
}

class ImageParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ImageParity, MatchesTorchvisionReference) {
    const std::string name = GetParam();
    auto              meta = reference_json()["images"][name];
    auto              img  = media::load_image(test::tiny_dir() + "/images/" + name + ".png");
    ASSERT_TRUE(img) << img.status().to_string();
    EXPECT_EQ(img->width, meta["width"].get<int>());
    EXPECT_EQ(img->height, meta["height"].get<int>());

    auto cfg = load_image_processor_config(test::tiny_model_dir() + "/preprocessor_config.json");
    ASSERT_TRUE(cfg) << cfg.status().to_string();
    auto pv = preprocess_image({img->rgb.data(), img->width, img->height}, *cfg);
    ASSERT_TRUE(pv) << pv.status().to_string();

    auto grid = meta["grid_torchvision"].get<std::vector<int64_t>>();
    EXPECT_EQ(pv->grid_thw[0], grid[0]);
    EXPECT_EQ(pv->grid_thw[1], grid[1]);
    EXPECT_EQ(pv->grid_thw[2], grid[2]);

    const TensorView* ref = test::reference().find("pixels." + name + ".torchvision");
    ASSERT_NE(ref, nullptr);
    ASSERT_EQ(ref->shape.size(), 2u);
    EXPECT_EQ(ref->shape[0], pv->n_rows);
    EXPECT_EQ(ref->shape[1], 1176);
    auto e = test::compare(pv->values, tensor_to_f32(*ref));
    RecordProperty("max_abs", std::to_string(e.max_abs));
    RecordProperty("mean_abs", std::to_string(e.mean_abs));
    std::printf("%-7s grid [%lld,%lld,%lld] max_abs %.5f mean_abs %.6f\n", name.c_str(), (long long)pv->grid_thw[0],
                (long long)pv->grid_thw[1], (long long)pv->grid_thw[2], e.max_abs, e.mean_abs);
    EXPECT_LE(e.max_abs, 0.03);
    EXPECT_LE(e.mean_abs, 0.002);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ImageParity,
                         ::testing::Values("small", "tall", "tiny", "wide", "gray", "rgba", "medium"));

// The fixed-point resize stays within one grey level of the double-precision oracle.
TEST(ResizeOracle, FixedPointWithinOneLevelOfFloat) {
    auto img = media::load_image(test::tiny_dir() + "/images/medium.png");
    ASSERT_TRUE(img);
    const int sizes[][2] = {{644, 476}, {100, 60}, {1000, 900}, {37, 500}, {640, 200}};
    for (auto& s : sizes) {
        std::vector<uint8_t> fast(size_t(s[0]) * s[1] * 3);
        std::vector<float>   ref(fast.size());
        resize_bicubic_aa_u8({img->rgb.data(), img->width, img->height}, s[0], s[1], fast.data());
        resize_bicubic_aa_ref({img->rgb.data(), img->width, img->height}, s[0], s[1], ref.data());
        double worst = 0;
        for (size_t i = 0; i < fast.size(); ++i) worst = std::max(worst, std::fabs(fast[i] - double(ref[i])));
        EXPECT_LE(worst, 1.51) << s[0] << "x" << s[1];
    }
}

} // namespace
