#pragma once
#include "tfx/backend/cpu/scalar/common.hpp"
#include "tfx/core/weights.hpp"

namespace tfx::cpu {

/// y = x . W^T + b for W [out, in]; y = x . W + b for W [in, out] (b optional).
template <class T, weight_layout L>
void linear_impl(scalar, Context&, Rows<const float> x, const Dense<T, L>& w, std::span<const float> bias,
                 Rows<float> y) {
  const Index n_out = w.out_features(), n_in = w.in_features();
  for (Index r = 0; r < x.rows; ++r)
    for (Index o = 0; o < n_out; ++o) {
      double acc = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
      for (Index i = 0; i < n_in; ++i)
        acc += static_cast<double>(x(r, i)) * to_float(L == weight_layout::out_in ? w.m(o, i) : w.m(i, o));
      y(r, o) = static_cast<float>(acc);
    }
}

/// y = x . W^T + b for block-quantized W: the dequantized weights q * d, f32 activations, double accumulation.
template <BlockQuantized Q>
void linear_impl(scalar, Context&, Rows<const float> x, const Q& w, std::span<const float> bias, Rows<float> y) {
  for (Index r = 0; r < x.rows; ++r)
    for (Index o = 0; o < w.out; ++o) {
      double acc = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
      for (Index i = 0; i < w.in; ++i) acc += static_cast<double>(x(r, i)) * w.at(o, i);
      y(r, o) = static_cast<float>(acc);
    }
}

/// Products that read the same input, one after the other.
template <class W>
void linear_group_impl(scalar p, Context& ctx, Rows<const float> x, std::span<const LinearPart<W>> parts) {
  for (const LinearPart<W>& part : parts) linear_impl(p, ctx, x, *part.w, part.bias, part.y);
}

}  // namespace tfx::cpu
