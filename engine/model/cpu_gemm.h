#pragma once
// out = a @ b written into `out` (often a slice of a larger buffer, such as one expert's rows).
// fp32 CPU tensors with unit-stride rows or columns go straight to the BLAS sgemm that LibTorch
// itself uses (found at run time), skipping ATen's per-call dispatch, which costs as much as the
// multiply itself for the small per-expert matrices. Everything else goes through at::mm_out.
#include <torch/torch.h>

namespace hy3 {

void mmInto(torch::Tensor out, const torch::Tensor& a, const torch::Tensor& b);

// True when the process has a BLAS sgemm to call directly.
bool hasDirectSgemm();

// Row-major C[m x n] = op(A) op(B) on raw fp32 pointers (op = transpose when the flag is set;
// A is [m x k] or, transposed, stored [k x m]; likewise B). Needs hasDirectSgemm(). Used in loops
// over experts, where even creating tensor views per call costs more than small multiplies.
// With accumulate set, C += op(A) op(B) instead.
void sgemmRowMajor(bool transA, bool transB, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                   int64_t ldb, float* c, int64_t ldc, bool accumulate = false);

}  // namespace hy3
