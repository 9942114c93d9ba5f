#pragma once
#include <vector>

#include "tfx/backend/cpu/eigen/gemm.hpp"
#include "tfx/backend/cpu/simd/common.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu {

/// y = x . W^T + b. Output columns are split into blocks over the threads; each block is one Eigen product
/// (bf16/f16 weights are widened block by block into per-thread scratch, so the whole matrix is never copied).
/// A single row (decode) uses xsimd dot products directly, which streams W once.
template <class A, class T>
void linear_impl(simd<A>, Context& ctx, Rows<const float> x, Rows<const T> w, std::span<const T> bias, Rows<float> y) {
  constexpr Index block = 64;
  const Index n_out = w.rows, k = w.cols;
  const Index n_blocks = (n_out + block - 1) / block;
  const int nt = vec::threads_for(ctx, n_blocks);
  ScratchScope scratch(ctx.scratch);
  float* wbuf = std::is_same_v<T, float> ? nullptr : scratch.floats(static_cast<std::size_t>(nt * block * k)).data();
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (Index b = 0; b < n_blocks; ++b) {
    const Index o0 = b * block, on = std::min(block, n_out - o0);
    float* tbuf = wbuf ? wbuf + omp_get_thread_num() * block * k : nullptr;
    if (x.rows == 1) {
      for (Index o = o0; o < o0 + on; ++o) {
        const float* wr = vec::as_f32(w.row(o), tbuf, k);
        y(0, o) = vec::dot<A>(x.row(0), wr, k);
      }
    } else {
      Rows<const float> wb;
      if constexpr (std::is_same_v<T, float>) {
        wb = w.slice_rows(o0, on);
      } else {
        for (Index o = 0; o < on; ++o) vec::to_f32(w.row(o0 + o), tbuf + o * k, k);
        wb = Rows<const float>(tbuf, on, k);
      }
      eigen::gemm_nt(x, wb, y.slice_cols(o0, on));
    }
    if (!bias.empty())
      for (Index r = 0; r < x.rows; ++r)
        for (Index o = o0; o < o0 + on; ++o) y(r, o) += to_float(bias[static_cast<std::size_t>(o)]);
  }
}

}  // namespace tfx::cpu

TFX_VECTOR_CODE_END
