#pragma once
#include "tfx/backend/cpu/scalar/common.hpp"

namespace tfx::cpu {

/// Rotates the first 2 * half dims of every head of row t by the angles of table row t (cos / sin already
/// scaled by attention_scaling, computed by the layer in f32 as Hugging Face does), in double.
inline void rope_impl(scalar, Context&, Rows<float> x, int heads, int head_dim, RopeTable table, rope_layout layout) {
  const Index half = table.cos.cols;
  for (Index t = 0; t < x.rows; ++t) {
    for (int h = 0; h < heads; ++h) {
      float* v = x.row(t) + static_cast<Index>(h) * head_dim;
      for (Index j = 0; j < half; ++j) {
        const double c = table.cos(t, j), s = table.sin(t, j);
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

namespace tfx::cpu {

/// cos[t, j] = cos(theta) * scaling, sin[t, j] = sin(theta) * scaling with theta = float(positions[t]) * inv_freq[j]
/// in f32, as Hugging Face computes them. positions and inv_freq are host memory (parameters of the call).
inline void rope_table_impl(scalar, Context&, std::span<const std::int64_t> positions, std::span<const float> inv_freq,
                            float scaling, Rows<float> cos, Rows<float> sin) {
  for (Index t = 0; t < cos.rows; ++t) {
    const float pos = static_cast<float>(positions[static_cast<std::size_t>(t)]);
    for (Index j = 0; j < cos.cols; ++j) {
      const float theta = pos * inv_freq[static_cast<std::size_t>(j)];
      cos(t, j) = std::cos(theta) * scaling;
      sin(t, j) = std::sin(theta) * scaling;
    }
  }
}

}  // namespace tfx::cpu
