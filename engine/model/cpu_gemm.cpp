#include "model/cpu_gemm.h"

#include <dlfcn.h>

namespace hy3 {
namespace {

using SgemmFn = void (*)(const char* transa, const char* transb, const int* m, const int* n, const int* k, const float* alpha,
                         const float* a, const int* lda, const float* b, const int* ldb, const float* beta, float* c,
                         const int* ldc);

// The Fortran sgemm in the process (PyTorch's libtorch_cpu exports its MKL's), or null.
SgemmFn findSgemm() {
    static const SgemmFn fn = reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "sgemm_"));
    return fn;
}

// A 2-D matrix as BLAS sees it: row-major with leading dimension `ld`, possibly transposed.
struct Operand {
    bool ok = false;
    bool transposed = false;
    int ld = 0;
};

Operand describe(const torch::Tensor& t) {
    Operand o;
    if (t.dim() != 2 || t.scalar_type() != torch::kFloat || !t.is_cpu()) return o;
    const int64_t rows = t.size(0), cols = t.size(1);
    if (t.stride(1) == 1 && t.stride(0) >= std::max<int64_t>(cols, 1)) {
        o = {true, false, static_cast<int>(t.stride(0))};
    } else if (t.stride(0) == 1 && t.stride(1) >= std::max<int64_t>(rows, 1)) {
        o = {true, true, static_cast<int>(t.stride(1))};
    }
    return o;
}

}  // namespace

bool hasDirectSgemm() { return findSgemm() != nullptr; }

void sgemmRowMajor(bool transA, bool transB, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                   int64_t ldb, float* c, int64_t ldc, bool accumulate) {
    // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
    const int M = static_cast<int>(m), N = static_cast<int>(n), K = static_cast<int>(k);
    const int LDA = static_cast<int>(lda), LDB = static_cast<int>(ldb), LDC = static_cast<int>(ldc);
    const float alpha = 1.f, beta = accumulate ? 1.f : 0.f;
    findSgemm()(transB ? "T" : "N", transA ? "T" : "N", &N, &M, &K, &alpha, b, &LDB, a, &LDA, &beta, c, &LDC);
}

void mmInto(torch::Tensor out, const torch::Tensor& a, const torch::Tensor& b) {
    const SgemmFn sgemm = findSgemm();
    const Operand A = describe(a), B = describe(b), C = describe(out);
    const int64_t m = a.size(0), k = a.size(1), n = b.size(1);
    const bool direct = sgemm && A.ok && B.ok && C.ok && !C.transposed && out.size(0) == m && out.size(1) == n &&
                        b.size(0) == k && m > 0 && n > 0 && k > 0 && m < INT32_MAX && n < INT32_MAX && k < INT32_MAX;
    if (!direct) {
        at::mm_out(out, a, b);
        return;
    }
    sgemmRowMajor(A.transposed, B.transposed, m, n, k, a.data_ptr<float>(), A.ld, b.data_ptr<float>(), B.ld,
                  out.data_ptr<float>(), C.ld);
}

}  // namespace hy3
