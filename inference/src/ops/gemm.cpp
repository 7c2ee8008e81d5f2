#include "ops/gemm.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

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

template <typename T> constexpr dt data_type_of = std::is_same_v<T, float> ? dt::f32 : dt::bf16;

template <typename T>
dnnl::matmul::primitive_desc describe(int64_t M, int64_t N, int64_t K, const GemmOperandsOf<T>& op, float alpha) {
    const dnnl::memory::desc a_desc({M, K}, data_type_of<T>, {op.lda, 1});
    const dnnl::memory::desc b_desc({K, N}, data_type_of<T>,
                                    op.b_columns ? dnnl::memory::dims{1, op.ldb} : dnnl::memory::dims{op.ldb, 1});
    const dnnl::memory::desc c_desc({M, N}, dt::f32, {op.ldc, 1});
    dnnl::primitive_attr     attr;
    if (alpha != 1.f) attr.set_output_scales(0, {alpha});
    return dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_desc, b_desc, c_desc), attr, cpu_engine());
}

template <typename T> bool gemm_operands(int64_t M, int64_t N, int64_t K, const GemmOperandsOf<T>& op, float alpha) {
    try {
        // oneDNN keeps compiled primitives in its own cache keyed by shape, so the layers of one prompt share them.
        const auto   pd = describe(M, N, K, op, alpha);
        dnnl::matmul product(pd);
        auto&        engine = cpu_engine();
        auto&        stream = thread_stream();
        product.execute(stream, {{DNNL_ARG_SRC, dnnl::memory(pd.src_desc(), engine, const_cast<T*>(op.a))},
                                 {DNNL_ARG_WEIGHTS, dnnl::memory(pd.weights_desc(), engine, const_cast<T*>(op.b))},
                                 {DNNL_ARG_DST, dnnl::memory(pd.dst_desc(), engine, op.c)}});
        stream.wait();
        return true;
    } catch (const dnnl::error&) {
        return false;
    }
}

} // namespace

bool gemm_f32(int64_t M, int64_t N, int64_t K, const GemmOperands& op, float alpha) {
    return gemm_operands(M, N, K, op, alpha);
}

bool gemm_bf16_operands(int64_t M, int64_t N, int64_t K, const GemmOperandsBf16& op, float alpha) {
    return gemm_operands(M, N, K, op, alpha);
}

namespace {

// C[M, N] = A · Wᵀ for A [M, K] of type `at` (row stride lda) and W [N, K] row-major of type `wt`, reordered by
// oneDNN slab by slab into the product's layout. fp32 A takes fp32 products (W widened by the reorder); bf16 A takes
// bf16 products with fp32 sums (W narrowed to bf16 by the reorder where it is not bf16 already).
bool gemm_reordered(int64_t M, int64_t N, int64_t K, const void* a, dt at, int64_t lda, const char* w, dt wt,
                    int64_t w_elem_bytes, float* c, int64_t ldc) {
    // Slabs of 576 rows: 9 MB of fp32 weights in the product's layout at the 9B's width, reused by every row of A
    // while in cache (the slab of the measurements in gemm.h; larger slabs were tried on the Intel host only).
    constexpr int64_t kSlabRows = 576;
    try {
        auto&                                 engine = cpu_engine();
        auto&                                 stream = thread_stream();
        static thread_local std::vector<char> packed;
        const dnnl::memory::desc              a_desc({M, K}, at, {lda, 1});
        const dnnl::memory                    a_mem(a_desc, engine, const_cast<void*>(a));
        for (int64_t n0 = 0; n0 < N; n0 += kSlabRows) {
            const int64_t                      nb = std::min(kSlabRows, N - n0);
            const dnnl::memory::desc           b_any({K, nb}, at, dnnl::memory::format_tag::any);
            const dnnl::memory::desc           c_desc({M, nb}, dt::f32, {ldc, 1});
            const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_desc, b_any, c_desc), engine);
            // Column n of B is row n0 + n of W: K consecutive values.
            const dnnl::memory::desc w_desc({K, nb}, wt, {1, K});
            packed.resize(pd.weights_desc().get_size());
            dnnl::memory w_mem(w_desc, engine, const_cast<char*>(w + n0 * K * w_elem_bytes));
            dnnl::memory b_mem(pd.weights_desc(), engine, packed.data());
            dnnl::reorder(w_mem, b_mem).execute(stream, w_mem, b_mem);
            dnnl::matmul(pd).execute(stream, {{DNNL_ARG_SRC, a_mem},
                                              {DNNL_ARG_WEIGHTS, b_mem},
                                              {DNNL_ARG_DST, dnnl::memory(c_desc, engine, c + n0)}});
        }
        stream.wait();
        return true;
    } catch (const dnnl::error&) {
        return false;
    }
}

} // namespace

bool gemm_bf16_weights(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const uint16_t* w, float* c,
                       int64_t ldc) {
    return gemm_reordered(M, N, K, a, dt::f32, lda, reinterpret_cast<const char*>(w), dt::bf16, 2, c, ldc);
}

bool gemm_f32_weights_reordered(int64_t M, int64_t N, int64_t K, const float* a, int64_t lda, const float* w, float* c,
                                int64_t ldc) {
    return gemm_reordered(M, N, K, a, dt::f32, lda, reinterpret_cast<const char*>(w), dt::f32, 4, c, ldc);
}

bool gemm_bf16(int64_t M, int64_t N, int64_t K, const uint16_t* a, int64_t lda, const uint16_t* w, float* c,
               int64_t ldc) {
    // Read where they lie unless GLMV_GEMM_REORDER=1: on the 2-core Zen 5 VM, one 9B layer's products of 512 rows
    // ran at 566 GFLOP/s on bf16 weights so (387 reordered slab by slab), 396-418 against 321-342 on q8/q4 slabs.
    static const bool reorder = [] {
        const char* env = std::getenv("GLMV_GEMM_REORDER");
        return env && std::string(env) == "1";
    }();
    if (reorder)
        return gemm_reordered(M, N, K, a, dt::bf16, lda, reinterpret_cast<const char*>(w), dt::bf16, 2, c, ldc);
    GemmOperandsBf16 op;
    op.a = a, op.lda = lda, op.b = w, op.ldb = K, op.b_columns = true, op.c = c, op.ldc = ldc;
    return gemm_bf16_operands(M, N, K, op);
}

bool native_bf16_products() {
    static const bool native = [] {
        try {
            const auto isa  = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
            const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
            return (isa & bf16) == bf16; // the ISA values are nested bit sets: AMX includes AVX512-BF16
        } catch (const dnnl::error&) {
            return false;
        }
    }();
    return native;
}

bool prefer_reordered_weights() {
    static const bool prefer = [] {
        if (const char* env = std::getenv("GLMV_GEMM_REORDER")) return std::string(env) == "1";
        __builtin_cpu_init();
        return __builtin_cpu_is("amd") != 0;
    }();
    return prefer;
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

namespace {
template <typename T> std::string typical_prefill_kernel() {
    try {
        GemmOperandsOf<T> op;
        op.lda = op.ldb = op.ldc = 4096;
        return std::string(describe(512, 4096, 4096, op, 1.f).impl_info_str());
    } catch (const dnnl::error&) {
        return std::string("unavailable");
    }
}
} // namespace

const char* gemm_impl() {
    static const std::string name = typical_prefill_kernel<float>();
    return name.c_str();
}

const char* gemm_bf16_impl() {
    static const std::string name = typical_prefill_kernel<uint16_t>();
    return name.c_str();
}

} // namespace glmv::ops
