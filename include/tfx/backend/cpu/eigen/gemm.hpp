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

namespace detail {
using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Stride = Eigen::OuterStride<>;
/// A row-major view with a leading dimension, as an Eigen map.
inline Eigen::Map<const RowMajor, 0, Stride> map(Rows<const float> m) { return {m.data, m.rows, m.cols, Stride(m.ld)}; }
inline Eigen::Map<RowMajor, 0, Stride> map(Rows<float> m) { return {m.data, m.rows, m.cols, Stride(m.ld)}; }
}  // namespace detail

/// Y[rows, n] = X[rows, k] . W[n, k]^T, all row-major with leading dimensions (W in PyTorch's Linear layout).
inline void gemm_nt(Rows<const float> x, Rows<const float> w, Rows<float> y) {
  detail::map(y).noalias() = detail::map(x) * detail::map(w).transpose();
}

/// Y[rows, n] = X[rows, k] . W[k, n], all row-major with leading dimensions (W in GPT-2's Conv1D layout).
inline void gemm_nn(Rows<const float> x, Rows<const float> w, Rows<float> y) {
  detail::map(y).noalias() = detail::map(x) * detail::map(w);
}

}  // namespace tfx::cpu::eigen

TFX_VECTOR_CODE_END
