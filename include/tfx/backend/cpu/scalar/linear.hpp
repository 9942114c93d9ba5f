#pragma once
#include "tfx/backend/cpu/scalar/common.hpp"

namespace tfx::cpu {

/// y = x . W^T + b    (W in PyTorch's [out, in] layout; b optional)
template <class T>
void linear_impl(scalar, Context&, Rows<const float> x, Rows<const T> w, std::span<const T> bias, Rows<float> y) {
  for (Index r = 0; r < x.rows; ++r)
    for (Index o = 0; o < w.rows; ++o) {
      double acc = bias.empty() ? 0.0 : to_float(bias[static_cast<std::size_t>(o)]);
      for (Index i = 0; i < x.cols; ++i) acc += static_cast<double>(x(r, i)) * to_float(w(o, i));
      y(r, o) = static_cast<float>(acc);
    }
}

}  // namespace tfx::cpu
