// glmv-cli quantize contract, run as a separate process on the tiny fixture: writes a folder that loads in its
// format, shows progress, refuses a non-empty output folder unless --force, and says how it was called wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_util.h"
#include "glmv/inference/engine.h"
#include "test_util.h"

using namespace glmv;
namespace fs = std::filesystem;

namespace {

test::CommandResult quantize(const std::string& out, const std::string& weights, const std::string& extra = "") {
    return test::run_command(std::string(GLMV_CLI) + " quantize --model " + test::quote(test::tiny_model_dir()) +
                             " --weights " + weights + " --out " + test::quote(out) + " " + extra + " 2>&1");
}

} // namespace

TEST(CliQuantize, WritesAFolderThatLoadsInItsFormat) {
    test::TempDir d;
    auto          r = quantize(d.file("q4"), "q4");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("100%"), std::string::npos) << r.output; // the progress bar reached the end
    EXPECT_NE(r.last_line().find("\"weights\":\"q4\""), std::string::npos) << r.last_line();
    for (const char* f : {"config.json", "preprocessor_config.json", "generation_config.json", "model.safetensors"})
        EXPECT_TRUE(fs::exists(d.file(std::string("q4/") + f))) << f;
    auto m = Model::load(d.file("q4"));
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    EXPECT_EQ(m.value()->weight_format(), WeightFormat::q4);
}

TEST(CliQuantize, RefusesANonEmptyOutputFolderUnlessForced) {
    test::TempDir d;
    ASSERT_EQ(quantize(d.file("out"), "q8").exit_code, 0);
    const auto before = fs::last_write_time(d.file("out/model.safetensors"));
    auto       r      = quantize(d.file("out"), "q8");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("is not empty"), std::string::npos) << r.output;
    EXPECT_EQ(fs::last_write_time(d.file("out/model.safetensors")), before);
    r = quantize(d.file("out"), "q4", "--force");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(Model::load(d.file("out")).value()->weight_format(), WeightFormat::q4);
    for (auto& e : fs::directory_iterator(d.path()))
        EXPECT_EQ(e.path().filename(), "out") << "left behind: " << e.path();
}

TEST(CliQuantize, UsageErrorsExitWith2) {
    test::TempDir d;
    auto          r = quantize(d.file("x"), "bf16");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find("q8|q4"), std::string::npos) << r.output;
    r = test::run_command(std::string(GLMV_CLI) + " quantize --model " + test::quote(test::tiny_model_dir()) + " 2>&1");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_FALSE(fs::exists(d.file("x")));
}
