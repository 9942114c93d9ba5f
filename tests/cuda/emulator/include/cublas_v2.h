#pragma once
#include "cuda_runtime.h"
#include "tfx/core/dtype.hpp"
enum cublasStatus_t { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_NOT_SUPPORTED = 15 };
enum cublasOperation_t { CUBLAS_OP_N, CUBLAS_OP_T };
enum cublasMath_t { CUBLAS_DEFAULT_MATH = 0 };
enum cudaDataType_t { CUDA_R_32F, CUDA_R_16BF, CUDA_R_16F };
enum cublasComputeType_t { CUBLAS_COMPUTE_32F };
enum cublasGemmAlgo_t { CUBLAS_GEMM_DEFAULT = -1 };
struct cublasContext { cudaStream_t s; int math; };
typedef cublasContext* cublasHandle_t;
inline int emu_gemm_calls = 0;
inline cublasStatus_t cublasCreate(cublasHandle_t* h) { *h = new cublasContext{}; return CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasDestroy(cublasHandle_t h) { delete h; return CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) { h->s = s; return CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) { h->math = m; return CUBLAS_STATUS_SUCCESS; }
inline const char* cublasGetStatusName(cublasStatus_t) { return "CUBLAS_STATUS_EMU"; }
inline const char* cublasGetStatusString(cublasStatus_t) { return "emulated"; }
inline double emu_elem(const void* p, cudaDataType_t t, long i) {
  if (t == CUDA_R_32F) return static_cast<const float*>(p)[i];
  if (t == CUDA_R_16BF) return tfx::to_float(static_cast<const tfx::bf16*>(p)[i]);
  return tfx::to_float(static_cast<const tfx::f16*>(p)[i]);
}
// Column-major C[m, n] = alpha op(A)[m, k] op(B)[k, n] + beta C, validated as cuBLAS does.
inline cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                   const void* alpha, const void* A, cudaDataType_t at, int lda, const void* B,
                                   cudaDataType_t bt, int ldb, const void* beta, void* C, cudaDataType_t ct, int ldc,
                                   cublasComputeType_t, cublasGemmAlgo_t) {
  if (!h || m < 0 || n < 0 || k < 0) return CUBLAS_STATUS_INVALID_VALUE;
  if (lda < std::max(1, ta == CUBLAS_OP_N ? m : k)) return CUBLAS_STATUS_INVALID_VALUE;
  if (ldb < std::max(1, tb == CUBLAS_OP_N ? k : n)) return CUBLAS_STATUS_INVALID_VALUE;
  if (ldc < std::max(1, m)) return CUBLAS_STATUS_INVALID_VALUE;
  if (ct != CUDA_R_32F || at != bt) return CUBLAS_STATUS_NOT_SUPPORTED;
  ++emu_gemm_calls;
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  float* c = static_cast<float*>(C);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int p = 0; p < k; ++p) {
        const double x = ta == CUBLAS_OP_N ? emu_elem(A, at, i + long(p) * lda) : emu_elem(A, at, p + long(i) * lda);
        const double y = tb == CUBLAS_OP_N ? emu_elem(B, bt, p + long(j) * ldb) : emu_elem(B, bt, j + long(p) * ldb);
        s += x * y;
      }
      float& out = c[i + long(j) * ldc];
      out = static_cast<float>(a * s + (b != 0 ? b * out : 0.0));
    }
  return CUBLAS_STATUS_SUCCESS;
}
