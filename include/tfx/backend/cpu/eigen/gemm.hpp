// Matrix products through Eigen. Nothing Eigen-typed leaves this file.
#pragma once
#include "tfx/backend/cpu/simd/diagnostics.hpp"

// tfx splits work over threads itself (output blocks per OpenMP thread); Eigen's own OpenMP parallelism inside
// a one-thread region would start a second team per call and oversubscribe the cores.
#ifndef EIGEN_DONT_PARALLELIZE
#define EIGEN_DONT_PARALLELIZE
#endif
TFX_VECTOR_CODE_BEGIN
#include <Eigen/Core>

#include "tfx/core/view.hpp"

namespace tfx::cpu::eigen {

/// Y[rows, n] = X[rows, k] . W[n, k]^T, all row-major with leading dimensions.
inline void gemm_nt(Rows<const float> x, Rows<const float> w, Rows<float> y) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  Eigen::Map<const RowMajor, 0, Stride> X(x.data, x.rows, x.cols, Stride(x.ld));
  Eigen::Map<const RowMajor, 0, Stride> W(w.data, w.rows, w.cols, Stride(w.ld));
  Eigen::Map<RowMajor, 0, Stride> Y(y.data, y.rows, y.cols, Stride(y.ld));
  Y.noalias() = X * W.transpose();
}

/// Y[rows, n] = X[rows, k] . W[k, n], all row-major with leading dimensions (W in GPT-2's Conv1D layout).
inline void gemm_nn(Rows<const float> x, Rows<const float> w, Rows<float> y) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  Eigen::Map<const RowMajor, 0, Stride> X(x.data, x.rows, x.cols, Stride(x.ld));
  Eigen::Map<const RowMajor, 0, Stride> W(w.data, w.rows, w.cols, Stride(w.ld));
  Eigen::Map<RowMajor, 0, Stride> Y(y.data, y.rows, y.cols, Stride(y.ld));
  Y.noalias() = X * W;
}

}  // namespace tfx::cpu::eigen

TFX_VECTOR_CODE_END
