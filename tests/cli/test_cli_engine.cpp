// glmv-cli forward / generate contract, run as a separate process on the tiny fixture.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "cli_util.h"
#include "glmv/inference/engine.h"
#include "glmv/inference/inputs_io.h"
#include "glmv/inference/safetensors.h"
#include "test_util.h"

using namespace glmv;

namespace {

SafetensorsFile& reference() {
    static SafetensorsFile f = std::move(SafetensorsFile::open(test::tiny_dir() + "/reference.safetensors").value());
    return f;
}

// Writes the fixture's `chat` inputs as an IN.safetensors with the HF tensor names.
std::string write_inputs(const test::TempDir& dir, const std::string& chat) {
    SafetensorsWriter w;
    for (const char* name : {"input_ids", "mm_token_type_ids", "pixel_values", "image_grid_thw", "pixel_values_videos",
                             "video_grid_thw"}) {
        const TensorView* t = reference().find(chat + "." + name);
        if (t) w.add(name, t->dtype, t->shape, t->data, t->nbytes);
    }
    std::string path = dir.file(chat + ".in.safetensors");
    EXPECT_TRUE(w.write(path).ok());
    return path;
}

std::string cli() { return GLMV_CLI; }

} // namespace

TEST(CliEngine, ForwardWritesLogitsAndPositionsMatchingTheReference) {
    for (std::string chat : {"image_chat", "video_chat"}) {
        test::TempDir dir;
        std::string   in  = write_inputs(dir, chat);
        std::string   out = dir.file("out.safetensors");
        auto r = test::run_command(cli() + " forward --model " + test::quote(test::tiny_model_dir()) + " --inputs " +
                                   test::quote(in) + " --out " + test::quote(out));
        ASSERT_EQ(r.exit_code, 0) << r.output;
        auto f = SafetensorsFile::open(out);
        ASSERT_TRUE(f.ok()) << f.status().to_string();
        auto got  = tensor_to_f32(*f->find("logits"));
        auto want = tensor_to_f32(*reference().find(chat + ".logits"));
        ASSERT_EQ(got.size(), want.size());
        double max_ref = 0, max_err = 0;
        for (size_t i = 0; i < got.size(); ++i) {
            max_ref = std::max(max_ref, double(std::fabs(want[i])));
            max_err = std::max(max_err, double(std::fabs(got[i] - want[i])));
        }
        EXPECT_LE(max_err, 1e-3 * max_ref) << chat;
        EXPECT_EQ(f->find("logits")->shape, reference().find(chat + ".logits")->shape);
        EXPECT_EQ(tensor_to_i64(*f->find("position_ids")), tensor_to_i64(*reference().find(chat + ".position_ids")));
    }
}

TEST(CliEngine, GreedyGeneratePrintsTheReferenceTokens) {
    for (std::string chat : {"image_chat", "text_chat", "video_chat"}) {
        test::TempDir dir;
        std::string   in   = write_inputs(dir, chat);
        auto          want = tensor_to_i64(*reference().find(chat + ".generated"));
        auto r = test::run_command(cli() + " generate --model " + test::quote(test::tiny_model_dir()) + " --inputs " +
                                   test::quote(in) + " --max-new-tokens " + std::to_string(want.size()) +
                                   " --greedy 2>/dev/null");
        ASSERT_EQ(r.exit_code, 0) << r.output;
        std::ostringstream expect;
        for (size_t i = 0; i < want.size(); ++i) expect << (i ? " " : "") << want[i];
        EXPECT_EQ(r.last_line(), expect.str()) << chat;
    }
}

TEST(CliEngine, BadInputsGiveAClearErrorAndExitCode1) {
    test::TempDir dir;
    // A token id outside the vocabulary.
    SafetensorsFile&    ref = reference();
    std::vector<int64_t> ids = {1, 2, 99999};
    SafetensorsWriter   w;
    w.add_i64("input_ids", {1, 3}, ids.data());
    ASSERT_TRUE(w.write(dir.file("bad.safetensors")).ok());
    auto r = test::run_command(cli() + " forward --model " + test::quote(test::tiny_model_dir()) + " --inputs " +
                               test::quote(dir.file("bad.safetensors")) + " --out " + dir.file("o") + " 2>&1");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("99999"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("outside the vocabulary"), std::string::npos) << r.output;
    // A folder that is not a model.
    r = test::run_command(cli() + " forward --model " + test::quote(dir.path()) + " --inputs x --out y 2>&1");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("config.json"), std::string::npos) << r.output;
    (void)ref;
}
