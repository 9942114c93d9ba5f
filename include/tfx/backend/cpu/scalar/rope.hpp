#pragma once
#include "tfx/backend/cpu/scalar/common.hpp"

namespace tfx::cpu {

/// Rotates the first 2*inv_freq.size() dims of every head of every row in place. Angles are computed in f32
/// (theta = float(pos) * inv_freq[j]) exactly as Hugging Face does; cos and sin are scaled by attention_scaling.
inline void rope_impl(scalar, Context&, Rows<float> x, int heads, int head_dim, std::span<const float> inv_freq,
                      float attention_scaling, std::span<const std::int64_t> positions, rope_layout layout) {
  const Index half = static_cast<Index>(inv_freq.size());
  for (Index t = 0; t < x.rows; ++t) {
    const float pos = static_cast<float>(positions[static_cast<std::size_t>(t)]);
    for (int h = 0; h < heads; ++h) {
      float* v = x.row(t) + static_cast<Index>(h) * head_dim;
      for (Index j = 0; j < half; ++j) {
        const float theta = pos * inv_freq[static_cast<std::size_t>(j)];
        const double c = std::cos(theta) * static_cast<double>(attention_scaling);
        const double s = std::sin(theta) * static_cast<double>(attention_scaling);
        const Index a = layout == rope_layout::half_split ? j : 2 * j;
        const Index b = layout == rope_layout::half_split ? j + half : 2 * j + 1;
        const double xa = v[a], xb = v[b];
        v[a] = static_cast<float>(xa * c - xb * s);
        v[b] = static_cast<float>(xb * c + xa * s);
      }
    }
  }
}

}  // namespace tfx::cpu
