// y = x . W^T + bias through cuBLAS, f32 accumulation.
//
// Row-major [r, c] with row stride ld is column-major [c, r] with leading dimension ld, so in cuBLAS's terms
// the product is Y^T [out, rows] = W [out, in] . X^T [in, rows]:
//   X^T: x as stored (column-major [in, rows], ld ldx), op N.
//   W, !in_out: stored row-major [out, in] = column-major [in, out] = W^T, ld ldw: op T.
//   W,  in_out: stored row-major [in, out] = column-major [out, in] = W,   ld ldw: op N.
//   Y^T: y as stored (column-major [out, rows], ld ldy).
// f32 weights: CUBLAS_COMPUTE_32F on f32 operands in CUBLAS_DEFAULT_MATH (set by blas_create) is a true f32
// product: cuBLAS converts to TF32 only under CUBLAS_COMPUTE_32F_FAST_TF32 or CUBLAS_TF32_TENSOR_OP_MATH.
// bf16 / f16 weights: x is first rounded to the weights' type (nearest even) into the workspace, then the 16-bit
// product runs on tensor cores with f32 accumulation and an f32 result. The bias is added by a small kernel after.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>

#include "common.cuh"
#include "tfx/backend/cuda/raw.hpp"

namespace tfx::cuda::detail {
namespace {

constexpr int kThreads = 256;
constexpr i64 kPad = 8;  // the converted x's row stride, in elements: a multiple of 8 (16 bytes)

inline i64 converted_ld(i64 in) { return (in + kPad - 1) / kPad * kPad; }

#define TFX_ROWS_2D(r, rows) for (i64 r = blockIdx.y; r < (rows); r += gridDim.y)
#define TFX_COLS_2D(c, cols)                                                                          \
  for (i64 c = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x; c < (cols);                 \
       c += static_cast<i64>(gridDim.x) * blockDim.x)

template <class T>
__global__ void narrow_rows_kernel(const float* __restrict__ x, i64 ldx, i64 rows, i64 cols, T* __restrict__ xh,
                                   i64 ldh) {
  TFX_ROWS_2D(r, rows) {
    const float* src = x + r * ldx;
    T* dst = xh + r * ldh;
    TFX_COLS_2D(c, cols) dst[c] = narrow<T>(src[c]);
  }
}

// y[r, :] += bias, or (assign) y[r, :] = bias (or 0 without a bias).
__global__ void bias_kernel(float* __restrict__ y, i64 ldy, i64 rows, i64 cols, const float* __restrict__ bias,
                            bool assign) {
  TFX_ROWS_2D(r, rows) {
    float* yr = y + r * ldy;
    TFX_COLS_2D(c, cols) {
      const float b = bias != nullptr ? bias[c] : 0.0f;
      yr[c] = assign ? b : yr[c] + b;
    }
  }
}

#undef TFX_ROWS_2D
#undef TFX_COLS_2D

inline int as_int(i64 v, const char* name) {
  if (v < 0 || v > INT_MAX) tfx::fail("CUDA linear: ", name, " = ", v, " is outside cuBLAS's int range");
  return static_cast<int>(v);
}

}  // namespace
}  // namespace tfx::cuda::detail

namespace tfx::cuda::raw {

using namespace tfx::cuda::detail;

std::size_t linear_workspace(i64 rows, i64 in, dtype w_type) {
  if (w_type == dtype::f32 || rows <= 0 || in <= 0) return 0;
  return static_cast<std::size_t>(rows) * static_cast<std::size_t>(converted_ld(in)) * dtype_size(w_type);
}

void linear(void* blas, void* stream, const float* x, i64 ldx, i64 rows, const void* w, dtype w_type, bool in_out,
            i64 out, i64 in, i64 ldw, const float* bias, float* y, i64 ldy, void* workspace) {
  if (rows < 0 || out < 0 || in < 0) tfx::fail("CUDA linear: negative size rows ", rows, ", out ", out, ", in ", in);
  if (rows == 0 || out == 0) return;
  if (ldy < out) tfx::fail("CUDA linear: ldy ", ldy, " < out ", out);
  const cudaStream_t s = as_stream(stream);
  if (in == 0) {  // an empty sum: y = bias (or 0)
    bias_kernel<<<grid_2d(rows, out, kThreads), kThreads, 0, s>>>(y, ldy, rows, out, bias, true);
    check_launch("linear (bias)");
    return;
  }
  if (ldx < in) tfx::fail("CUDA linear: ldx ", ldx, " < in ", in);
  if (ldw < (in_out ? out : in))
    tfx::fail("CUDA linear: ldw ", ldw, " < ", in_out ? "out " : "in ", in_out ? out : in, " (the stored row width)");
  if (blas == nullptr) tfx::fail("CUDA linear: no cuBLAS handle");
  const auto h = static_cast<cublasHandle_t>(blas);
  check_blas(cublasSetStream(h, s), "cublasSetStream");

  const void* b = x;
  i64 ldb = ldx;
  cudaDataType_t type = CUDA_R_32F;
  if (w_type != dtype::f32) {
    if (workspace == nullptr)
      tfx::fail("CUDA linear: ", dtype_name(w_type), " weights need linear_workspace() = ",
                linear_workspace(rows, in, w_type), " bytes of workspace, got none");
    const i64 ldh = converted_ld(in);
    if (w_type == dtype::bf16) {
      narrow_rows_kernel<tfx::bf16><<<grid_2d(rows, in, kThreads), kThreads, 0, s>>>(
          x, ldx, rows, in, static_cast<tfx::bf16*>(workspace), ldh);
      type = CUDA_R_16BF;
    } else {
      narrow_rows_kernel<tfx::f16><<<grid_2d(rows, in, kThreads), kThreads, 0, s>>>(
          x, ldx, rows, in, static_cast<tfx::f16*>(workspace), ldh);
      type = CUDA_R_16F;
    }
    check_launch("linear (rounding x)");
    b = workspace;
    ldb = ldh;
  }

  const float alpha = 1.0f, beta = 0.0f;
  check_blas(cublasGemmEx(h, in_out ? CUBLAS_OP_N : CUBLAS_OP_T, CUBLAS_OP_N, as_int(out, "out"),
                          as_int(rows, "rows"), as_int(in, "in"), &alpha, w, type, as_int(ldw, "ldw"), b, type,
                          as_int(ldb, "ldx"), &beta, y, CUDA_R_32F, as_int(ldy, "ldy"), CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
             "cublasGemmEx (linear)");
  if (bias != nullptr) {
    bias_kernel<<<grid_2d(rows, out, kThreads), kThreads, 0, s>>>(y, ldy, rows, out, bias, false);
    check_launch("linear (bias)");
  }
}

}  // namespace tfx::cuda::raw
