// Helpers shared by tests: paths to ../shared fixtures and a temp dir per test.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

namespace glmv::test {

inline std::string shared_dir() {
    if (const char* env = std::getenv("GLMV_SHARED_DIR")) return env;
    return GLMV_SHARED_DIR;
}
inline std::string fixtures_dir() { return shared_dir() + "/fixtures"; }
inline std::string tiny_dir() { return fixtures_dir() + "/glm4v-tiny"; }
inline std::string tiny_model_dir() { return tiny_dir() + "/model"; }
inline std::string assets_dir() { return shared_dir() + "/glm4v-assets"; }
inline std::string source_dir() { return GLMV_SOURCE_DIR; }
inline std::string binary_dir() { return GLMV_BINARY_DIR; }

// n standard-normal floats from a fixed seed (kernel and operator tests).
inline std::vector<float> randn(size_t n, uint64_t seed) {
    std::mt19937_64                 rng(seed);
    std::normal_distribution<float> d;
    std::vector<float>              v(n);
    for (float& x : v) x = d(rng);
    return v;
}

// A fresh, empty directory under the system temp dir, removed when the object dies.
class TempDir {
  public:
    explicit TempDir(const std::string& tag = "glmv") {
        std::string tmpl = (std::filesystem::temp_directory_path() / (tag + "-XXXXXX")).string();
        path_            = mkdtemp(tmpl.data()) ? tmpl : std::string();
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }
    std::string        file(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

} // namespace glmv::test
