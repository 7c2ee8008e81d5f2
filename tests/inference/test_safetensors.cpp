// safetensors validation: one case per malformation of reliability.md §10.3, plus round trips.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "glmv/inference/safetensors.h"
#include "test_util.h"

using glmv::ErrorCode;
using glmv::SafetensorsFile;

namespace {

std::vector<uint8_t> make_file(const std::string& header, size_t data_bytes, uint64_t declared_len = UINT64_MAX) {
    std::vector<uint8_t> f(8);
    uint64_t             n = declared_len == UINT64_MAX ? header.size() : declared_len;
    for (int i = 0; i < 8; ++i) f[i] = uint8_t(n >> (8 * i));
    for (char ch : header) f.push_back(uint8_t(ch));
    f.resize(f.size() + data_bytes, 0x11);
    return f;
}

glmv::Result<SafetensorsFile> parse(const std::vector<uint8_t>& f) {
    return SafetensorsFile::parse(f.data(), f.size(), "test");
}

enum class Malformation {
    empty,
    seven_bytes,
    len_zero,
    len_beyond_file,
    len_max,
    len_over_cap,
    not_utf8,
    not_object_start,
    invalid_json,
    duplicate_key,
    metadata_non_string,
    unknown_dtype,
    rank_nine,
    negative_dim,
    huge_dim,
    reversed_offsets,
    overlapping,
    hole,
    trailing_bytes,
    beyond_eof,
    size_mismatch,
};

struct Case {
    Malformation         kind;
    std::vector<uint8_t> bytes;
};

std::vector<Case> malformed_cases() {
    const std::string ok_entry = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    std::vector<Case> c;
    c.push_back({Malformation::empty, {}});
    c.push_back({Malformation::seven_bytes, std::vector<uint8_t>(7, 0)});
    c.push_back({Malformation::len_zero, make_file("", 0, 0)});
    c.push_back({Malformation::len_beyond_file, make_file("{" + ok_entry + "}", 8, 5000)});
    c.push_back({Malformation::len_max, make_file("{" + ok_entry + "}", 8, UINT64_MAX - 1)});
    c.push_back({Malformation::len_over_cap, make_file("{" + ok_entry + "}", 8, 100000001)});
    c.push_back({Malformation::not_utf8, make_file("{\"\xff\xfe\":1}", 0)});
    c.push_back({Malformation::not_object_start, make_file("[1,2]", 0)});
    c.push_back({Malformation::invalid_json, make_file("{\"a\":", 0)});
    c.push_back({Malformation::duplicate_key, make_file("{" + ok_entry + "," + ok_entry + "}", 8)});
    c.push_back({Malformation::metadata_non_string, make_file(R"({"__metadata__":{"x":1}})", 0)});
    c.push_back({Malformation::unknown_dtype, make_file(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8)});
    c.push_back({Malformation::rank_nine,
                 make_file(R"({"a":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})", 1)});
    c.push_back({Malformation::negative_dim, make_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)});
    c.push_back({Malformation::huge_dim,
                 make_file(R"({"a":{"dtype":"F32","shape":[4398046511105],"data_offsets":[0,8]}})", 8)});
    c.push_back({Malformation::reversed_offsets, make_file(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8)});
    c.push_back({Malformation::overlapping,
                 make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)});
    c.push_back({Malformation::hole,
                 make_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12)});
    c.push_back({Malformation::trailing_bytes, make_file("{" + ok_entry + "}", 9)});
    c.push_back({Malformation::beyond_eof, make_file("{" + ok_entry + "}", 4)});
    c.push_back({Malformation::size_mismatch, make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)});
    return c;
}

} // namespace

TEST(Safetensors, EveryMalformationIsRejectedWithAMessage) {
    for (const Case& c : malformed_cases()) {
        auto r = parse(c.bytes);
        EXPECT_FALSE(r.ok()) << "case " << int(c.kind) << " was accepted";
        if (!r.ok()) {
            EXPECT_EQ(r.status().code(), ErrorCode::bad_format) << int(c.kind);
            EXPECT_FALSE(r.status().message().empty());
        }
    }
}

TEST(Safetensors, ZeroSizeTensorLoads) {
    auto r = parse(make_file(R"({"z":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]}})", 0));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->find("z")->numel(), 0);
}

TEST(Safetensors, TruncatedAtEveryOffsetFailsCleanly) {
    auto good = make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[8,14]}})", 14);
    ASSERT_TRUE(parse(good).ok());
    for (size_t cut = 0; cut < good.size(); ++cut) {
        std::vector<uint8_t> t(good.begin(), good.begin() + cut);
        EXPECT_FALSE(parse(t).ok()) << "cut at " << cut;
    }
}

TEST(Safetensors, WriteThenReadRoundTrip) {
    glmv::test::TempDir     dir;
    glmv::SafetensorsWriter w;
    std::vector<float>      f = {1.5f, -2.f, 3.25f, 0.f, 5.f, 6.f};
    std::vector<int64_t>    i = {7, -8, 1LL << 40};
    w.add_f32("f", {2, 3}, f.data());
    w.add_i64("i", {3}, i.data());
    w.set_metadata("format", "pt");
    ASSERT_TRUE(w.write(dir.file("x.safetensors")).ok());
    auto r = SafetensorsFile::open(dir.file("x.safetensors"));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(glmv::tensor_to_f32(*r->find("f")), f);
    EXPECT_EQ(glmv::tensor_to_i64(*r->find("i")), i);
    EXPECT_EQ(r->metadata().at("format"), "pt");
    EXPECT_EQ(r->find("f")->shape, (std::vector<int64_t>{2, 3}));
}

TEST(Safetensors, OpensTheFixtureModel) {
    auto r = SafetensorsFile::open(glmv::test::tiny_model_dir() + "/model.safetensors");
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    const auto* lm = r->find("lm_head.weight");
    ASSERT_NE(lm, nullptr);
    EXPECT_EQ(lm->dtype, glmv::DType::bf16);
    EXPECT_EQ(lm->shape, (std::vector<int64_t>{2048, 128}));
}

TEST(Safetensors, MissingFileIsNotFound) {
    auto r = SafetensorsFile::open("/nonexistent/model.safetensors");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::not_found);
}

TEST(Safetensors, HalfPrecisionConversions) {
    EXPECT_EQ(glmv::bf16_to_f32(0x3f80), 1.0f);
    EXPECT_EQ(glmv::f16_to_f32(0x3c00), 1.0f);
    EXPECT_EQ(glmv::f16_to_f32(0xc000), -2.0f);
    EXPECT_FLOAT_EQ(glmv::f16_to_f32(0x0001), 5.9604645e-8f); // smallest subnormal
    EXPECT_EQ(glmv::f32_to_bf16(1.0f), 0x3f80);
}
