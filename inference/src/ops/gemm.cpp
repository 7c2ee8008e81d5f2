#include "ops/gemm.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <string>

namespace glmv::ops {

namespace {

using dt = dnnl::memory::data_type;

dnnl::engine& cpu_engine() {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

// Streams are not shared between threads; the engine may run operations from more than one.
dnnl::stream& thread_stream() {
    thread_local dnnl::stream stream(cpu_engine());
    return stream;
}

dnnl::matmul::primitive_desc describe(int64_t M, int64_t N, int64_t K, const GemmOperands& op, float alpha) {
    const dnnl::memory::desc a_desc({M, K}, dt::f32, {op.lda, 1});
    const dnnl::memory::desc b_desc({K, N}, dt::f32, op.b_columns ? dnnl::memory::dims{1, op.ldb} : dnnl::memory::dims{op.ldb, 1});
    const dnnl::memory::desc c_desc({M, N}, dt::f32, {op.ldc, 1});
    dnnl::primitive_attr     attr;
    if (alpha != 1.f) attr.set_output_scales(0, {alpha});
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_desc, b_desc, c_desc), attr, cpu_engine());
}

} // namespace

bool gemm_f32(int64_t M, int64_t N, int64_t K, const GemmOperands& op, float alpha) {
    try {
        // oneDNN keeps compiled primitives in its own cache keyed by shape, so the layers of one prompt share them.
        const auto   pd = describe(M, N, K, op, alpha);
        dnnl::matmul product(pd);
        auto&        engine = cpu_engine();
        auto&        stream = thread_stream();
        product.execute(stream, {{DNNL_ARG_SRC, dnnl::memory(pd.src_desc(), engine, const_cast<float*>(op.a))},
                                 {DNNL_ARG_WEIGHTS, dnnl::memory(pd.weights_desc(), engine, const_cast<float*>(op.b))},
                                 {DNNL_ARG_DST, dnnl::memory(pd.dst_desc(), engine, op.c)}});
        stream.wait();
        return true;
    } catch (const dnnl::error&) {
        return false;
    }
}

bool softmax_rows(float* x, int64_t rows, int64_t cols) {
    try {
        auto&                    engine = cpu_engine();
        const dnnl::memory::desc desc({rows, cols}, dt::f32, dnnl::memory::format_tag::ab);
        const dnnl::softmax_forward::primitive_desc pd(
            dnnl::softmax_forward::desc(dnnl::prop_kind::forward_inference, desc, 1), engine);
        dnnl::memory data(desc, engine, x);
        auto&        stream = thread_stream();
        dnnl::softmax_forward(pd).execute(stream, {{DNNL_ARG_SRC, data}, {DNNL_ARG_DST, data}});
        stream.wait();
        return true;
    } catch (const dnnl::error&) {
        return false;
    }
}

const char* gemm_impl() {
    static const std::string name = [] {
        try {
            GemmOperands op;
            op.lda = op.ldb = op.ldc = 4096;
            return std::string(describe(512, 4096, 4096, op, 1.f).impl_info_str());
        } catch (const dnnl::error&) {
            return std::string("unavailable");
        }
    }();
    return name.c_str();
}

} // namespace glmv::ops
