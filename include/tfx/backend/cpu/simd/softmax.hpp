#pragma once
#include "tfx/backend/cpu/simd/common.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu::vec {

/// In-place softmax of n floats scaled by inv_temp: returns false (and writes zeros) for a row with no finite entry.
template <class A>
inline bool softmax_row(float* s, Index n, float inv_temp) {
  using B = fbatch<A>;
  constexpr Index W = B::size;
  B vmax(-std::numeric_limits<float>::infinity());
  Index j = 0;
  for (; j + W <= n; j += W) vmax = xsimd::max(vmax, B::load_unaligned(s + j));
  float m = reduce_max<A>(vmax);
  for (; j < n; ++j) m = std::max(m, s[j]);
  if (m == -std::numeric_limits<float>::infinity()) {
    std::fill(s, s + n, 0.f);
    return false;
  }
  const B vm(m), vt(inv_temp);
  B acc(0.f);
  for (j = 0; j + W <= n; j += W) {
    const B e = xsimd::exp((B::load_unaligned(s + j) - vm) * vt);
    e.store_unaligned(s + j);
    acc += e;
  }
  float sum = reduce_sum<A>(acc);
  for (; j < n; ++j) sum += (s[j] = std::exp((s[j] - m) * inv_temp));
  const B vinv(1.f / sum);
  for (j = 0; j + W <= n; j += W) (B::load_unaligned(s + j) * vinv).store_unaligned(s + j);
  for (; j < n; ++j) s[j] /= sum;
  return true;
}

}  // namespace tfx::cpu::vec

namespace tfx::cpu {

template <class A>
void softmax_impl(simd<A>, Context& ctx, Rows<float> x, float temperature) {
  const float inv_temp = 1.f / temperature;
  const int nt = vec::threads_for_rows(ctx, x.rows, x.rows * x.cols, 8192);
  vec::parallel_for(nt, x.rows, [&](Index r) { vec::softmax_row<A>(x.row(r), x.cols, inv_temp); });
}

}  // namespace tfx::cpu

TFX_VECTOR_CODE_END
