#pragma once
#include "tfx/backend/cpu/scalar/common.hpp"

namespace tfx::cpu {

/// x = act(x)
inline void activation_impl(scalar, Context&, Rows<float> x, activation a) {
  for (Index r = 0; r < x.rows; ++r)
    for (Index c = 0; c < x.cols; ++c) x(r, c) = static_cast<float>(ref::activate(x(r, c), a));
}

/// gate = act(gate) * up
inline void gated_activation_impl(scalar, Context&, Rows<float> gate, Rows<const float> up, activation a) {
  for (Index r = 0; r < gate.rows; ++r)
    for (Index c = 0; c < gate.cols; ++c)
      gate(r, c) = static_cast<float>(ref::activate(gate(r, c), a) * static_cast<double>(up(r, c)));
}

/// y += x
inline void add_impl(scalar, Context&, Rows<float> y, Rows<const float> x) {
  for (Index r = 0; r < y.rows; ++r)
    for (Index c = 0; c < y.cols; ++c) y(r, c) += x(r, c);
}

/// x *= s
inline void scale_impl(scalar, Context&, Rows<float> x, float s) {
  for (Index r = 0; r < x.rows; ++r)
    for (Index c = 0; c < x.cols; ++c) x(r, c) *= s;
}

}  // namespace tfx::cpu
