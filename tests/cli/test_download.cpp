// glmv-cli download against a local server with the Hugging Face hub's URL layout (tree API + resolve URLs with
// Range): an interrupted transfer is resumed, a corrupted file is refused and never left in place, HF_ENDPOINT is
// honoured.
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli_util.h"
#include "glmv/pipeline/hub_download.h"
#include "test_util.h"

using namespace glmv;
namespace fs = std::filesystem;
using json   = nlohmann::json;

namespace {

std::string read_all(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// A fake hub serving the tiny fixture model as repo "acme/tiny" (and "acme/bad" with a wrong sha256).
struct FakeHub {
    httplib::Server  svr;
    std::thread      thread;
    int              port = 0;
    std::atomic<int> range_requests{0};
    std::atomic<int> interrupted{0};
    std::string      dir = test::tiny_model_dir();

    FakeHub() {
        svr.Get(R"(/api/models/acme/(tiny|bad)/tree/main)", [this](const httplib::Request& req, httplib::Response& res) {
            json files = json::array();
            for (const char* name : {"config.json", "model.safetensors", "preprocessor_config.json"}) {
                const std::string p = dir + "/" + name;
                json              e = {{"type", "file"}, {"path", name}, {"size", fs::file_size(p)}};
                if (std::string(name) == "model.safetensors") {
                    std::string sha = *pipeline::file_sha256(p);
                    if (req.matches[1] == "bad") sha[0] = sha[0] == '0' ? '1' : '0';
                    e["lfs"] = {{"oid", sha}, {"size", fs::file_size(p)}};
                } else {
                    e["oid"] = *pipeline::file_git_blob_id(p);
                }
                files.push_back(e);
            }
            res.set_content(files.dump(), "application/json");
        });
        svr.Get(R"(/acme/(tiny|bad)/resolve/main/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
            const std::string p = dir + "/" + std::string(req.matches[2]);
            if (!fs::exists(p)) {
                res.status = 404;
                return;
            }
            // cpp-httplib answers Range requests itself (206 + the asked slice of what the provider yields).
            auto data = std::make_shared<std::string>(read_all(p));
            if (req.has_header("Range")) ++range_requests;
            // The first full transfer of the weights breaks off half way, as a flaky connection would.
            const bool cut = std::string(req.matches[2]) == "model.safetensors" && !req.has_header("Range") &&
                             interrupted++ == 0;
            res.set_content_provider(data->size(), "application/octet-stream",
                                     [data, cut](size_t off, size_t length, httplib::DataSink& sink) {
                                         if (cut && off >= data->size() / 2) return false; // drop the connection
                                         const size_t n = std::min<size_t>({64 * 1024, length, data->size() - off});
                                         sink.write(data->data() + off, n);
                                         return true;
                                     });
        });
        port   = svr.bind_to_any_port("127.0.0.1");
        thread = std::thread([this] { svr.listen_after_bind(); });
    }
    ~FakeHub() {
        svr.stop();
        thread.join();
    }
};

} // namespace

TEST(Download, InterruptedTransferResumesAndEverythingVerifies) {
    FakeHub       hub;
    test::TempDir out;
    const std::string cmd = "HF_ENDPOINT=http://127.0.0.1:" + std::to_string(hub.port) + " " + GLMV_CLI +
                            " download acme/tiny --out " + test::quote(out.file("m")) + " 2>&1";
    auto r = test::run_command(cmd);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_GE(hub.range_requests.load(), 1) << "the broken transfer was not resumed with a Range request";
    for (const char* name : {"config.json", "model.safetensors", "preprocessor_config.json"})
        EXPECT_EQ(read_all(out.file("m/") + name), read_all(test::tiny_model_dir() + "/" + name)) << name;
    EXPECT_FALSE(fs::exists(out.file("m/model.safetensors.part")));
    EXPECT_NE(r.output.find("memory to run it"), std::string::npos) << r.output;
    // Running it again downloads nothing.
    const int before = hub.interrupted.load();
    r = test::run_command(cmd);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(hub.interrupted.load(), before);
}

TEST(Download, CorruptedFileIsRefusedAndNotLeftInPlace) {
    FakeHub       hub;
    test::TempDir out;
    auto r = test::run_command(std::string(GLMV_CLI) + " download acme/bad --endpoint http://127.0.0.1:" +
                               std::to_string(hub.port) + " --out " + test::quote(out.file("m")) + " 2>&1");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("sha256"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(out.file("m/model.safetensors")));
    EXPECT_FALSE(fs::exists(out.file("m/model.safetensors.part")));
}

TEST(Download, UnknownRepoAndUnreachableHubGiveClearErrors) {
    FakeHub hub;
    auto    r = test::run_command(std::string(GLMV_CLI) + " download acme/none --endpoint http://127.0.0.1:" +
                               std::to_string(hub.port) + " --out /tmp/glmv-none 2>&1");
    EXPECT_EQ(r.exit_code, 1);
    r = test::run_command(std::string(GLMV_CLI) + " download acme/tiny --endpoint http://127.0.0.1:1 --out /tmp/glmv-none 2>&1");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find("cannot reach"), std::string::npos) << r.output;
}
