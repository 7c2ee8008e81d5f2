// The demo model answers fresh questions (a new seed, never seen in training) about real files: PNG images, a PDF
// rendered by poppler, an H.264 video decoded by FFmpeg — the same path as the app. The eval set is written by the
// recipe's make_eval_set.py (Debian's python3 with Pillow and numpy, and the ffmpeg tool).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <nlohmann/json.hpp>

#include "glmv/pipeline/chat_engine.h"
#include "test_util.h"

using namespace glmv;
using json = nlohmann::json;

namespace {

std::string normalise(std::string s) {
    s.erase(std::remove_if(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); }), s.end());
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    while (!s.empty() && (s.back() == '.' || s.back() == '!')) s.pop_back();
    return s;
}

// The targets: 90 % for color/shape/count, 80 % for documents and video. The shipped model scores 92-100 %
// on this set and 89-100 % on two sets of 120 per category (resources/demo-model/README.md).
double required_accuracy(const std::string& category) {
    if (category == "document" || category == "video") return 0.80;
    return 0.90;
}

} // namespace

TEST(DemoModel, HeldOutAccuracyThroughTheRealMediaPipeline) {
    const std::string model  = test::source_dir() + "/resources/demo-model";
    const std::string recipe = model + "/recipe/make_eval_set.py";
    test::TempDir     dir("glmv-eval");
    const std::string python = std::getenv("GLMV_PYTHON") ? std::getenv("GLMV_PYTHON") : "/usr/bin/python3";
    // GLMV_DEMO_SEED / GLMV_DEMO_PER_CATEGORY run a larger or different held-out set (the README's numbers).
    const std::string seed = std::getenv("GLMV_DEMO_SEED") ? std::getenv("GLMV_DEMO_SEED") : "4242";
    const std::string per  = std::getenv("GLMV_DEMO_PER_CATEGORY") ? std::getenv("GLMV_DEMO_PER_CATEGORY") : "25";
    const std::string cmd  = python + " " + recipe + " " + dir.path() + " --seed " + std::to_string(std::stoi(seed)) +
                            " --per-category " + std::to_string(std::stoi(per)) + " > " + dir.path() + "/gen.log 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "make_eval_set.py failed; see " << cmd;
    std::ifstream qf(dir.file("questions.json"));
    json          q = json::parse(qf);

    auto engine = pipeline::ChatEngine::open(model);
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    pipeline::ChatSettings settings;
    settings.sampling.greedy = true;
    settings.max_new_tokens  = 96;

    std::map<std::string, std::pair<int, int>> score; // category → (right, total)
    for (const json& item : q["items"]) {
        pipeline::Turn turn{"user", item["question"].get<std::string>(), {}};
        const std::string kind = item["kind"];
        for (const json& f : item["files"]) {
            pipeline::Attachment a;
            a.kind = kind == "video" ? pipeline::Attachment::Kind::video
                     : kind == "pdf" ? pipeline::Attachment::Kind::pdf
                                     : pipeline::Attachment::Kind::image;
            a.path = dir.file(f.get<std::string>());
            if (kind == "pdf" && item.contains("page")) a.first_page = a.last_page = item["page"].get<int>();
            turn.attachments.push_back(a);
        }
        auto r = (*engine)->run({turn}, settings, nullptr);
        ASSERT_TRUE(r.ok()) << r.status().to_string();
        EXPECT_FALSE(r->answer.empty()) << item["id"] << ": no <answer> in '" << r->text << "'";
        const bool ok = normalise(r->answer) == normalise(item["expected"].get<std::string>());
        auto&      s  = score[item["category"].get<std::string>()];
        s.first += ok;
        s.second += 1;
        if (!ok && std::getenv("GLMV_VERBOSE"))
            std::printf("miss %s: %s → '%s' (expected '%s')\n", item["id"].dump().c_str(),
                        item["question"].get<std::string>().c_str(), r->answer.c_str(),
                        item["expected"].get<std::string>().c_str());
    }
    for (auto& [cat, s] : score) {
        const double acc = double(s.first) / std::max(1, s.second);
        std::printf("demo model held-out accuracy: %-9s %3d/%3d = %.1f%%\n", cat.c_str(), s.first, s.second, 100 * acc);
        EXPECT_GE(acc, required_accuracy(cat)) << cat;
    }
    EXPECT_EQ(score.size(), 5u);
}
