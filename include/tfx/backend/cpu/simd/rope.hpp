#pragma once
#include "tfx/backend/cpu/simd/common.hpp"
#include "tfx/core/context.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu {

/// Every head of row t is rotated by table row t with vector ops (the layer computes the table once per forward).
template <class A>
void rope_impl(simd<A>, Context& ctx, Rows<float> x, int heads, int head_dim, RopeTable table, rope_layout layout) {
  using B = vec::fbatch<A>;
  constexpr Index W = B::size;
  const Index half = table.cos.cols;
  const int nt = vec::threads_for_rows(ctx, x.rows, x.rows * heads * head_dim, 8192);
  vec::parallel_for(nt, x.rows, [&](Index t) {
    const float* cs = table.cos.row(t);
    const float* sn = table.sin.row(t);
    for (int h = 0; h < heads; ++h) {
      float* v = x.row(t) + static_cast<Index>(h) * head_dim;
      if (layout == rope_layout::half_split) {
        Index j = 0;
        for (; j + W <= half; j += W) {
          const B a = B::load_unaligned(v + j), b = B::load_unaligned(v + j + half);
          const B c = B::load_unaligned(cs + j), s = B::load_unaligned(sn + j);
          xsimd::fms(a, c, b * s).store_unaligned(v + j);
          xsimd::fma(b, c, a * s).store_unaligned(v + j + half);
        }
        for (; j < half; ++j) {
          const float a = v[j], b = v[j + half];
          v[j] = a * cs[j] - b * sn[j];
          v[j + half] = b * cs[j] + a * sn[j];
        }
      } else {
        for (Index j = 0; j < half; ++j) {
          const float a = v[2 * j], b = v[2 * j + 1];
          v[2 * j] = a * cs[j] - b * sn[j];
          v[2 * j + 1] = b * cs[j] + a * sn[j];
        }
      }
    }
  });
}

}  // namespace tfx::cpu

TFX_VECTOR_CODE_END
