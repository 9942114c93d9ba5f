#pragma once
#include "tfx/backend/cpu/simd/common.hpp"
#include "tfx/core/context.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu {

/// cos/sin are computed once per row (per position) in f32, then every head is rotated with vector ops.
template <class A>
void rope_impl(simd<A>, Context& ctx, Rows<float> x, int heads, int head_dim, std::span<const float> inv_freq,
               float attention_scaling, std::span<const std::int64_t> positions, rope_layout layout) {
  using B = vec::fbatch<A>;
  constexpr Index W = B::size;
  const Index half = static_cast<Index>(inv_freq.size());
  const int nt = vec::threads_for_rows(ctx, x.rows, x.rows * heads * head_dim, 8192);
  ScratchScope scratch(ctx.scratch);
  float* table = scratch.floats(static_cast<std::size_t>(nt * 2 * half)).data();
  vec::parallel_for(nt, x.rows, [&](Index t) {
    float* cs = table + omp_get_thread_num() * 2 * half;
    float* sn = cs + half;
    const float pos = static_cast<float>(positions[static_cast<std::size_t>(t)]);
    for (Index j = 0; j < half; ++j) {
      const float theta = pos * inv_freq[static_cast<std::size_t>(j)];
      cs[j] = std::cos(theta) * attention_scaling;
      sn[j] = std::sin(theta) * attention_scaling;
    }
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
