#pragma once
#include "tfx/backend/cuda/common.hpp"

namespace tfx::cuda {

template <int D>
void activation_impl(device<D>, Context& ctx, View x, activation a) {
  raw::activation(ctx.stream(), x.data, x.ld, x.rows, x.cols, a);
}
template <int D>
void gated_activation_impl(device<D>, Context& ctx, View gate, ConstView up, activation a) {
  raw::gated_activation(ctx.stream(), gate.data, gate.ld, up.data, up.ld, gate.rows, gate.cols, a);
}
template <int D>
void add_impl(device<D>, Context& ctx, View y, ConstView x) {
  raw::add(ctx.stream(), y.data, y.ld, x.data, x.ld, y.rows, y.cols);
}

}  // namespace tfx::cuda
