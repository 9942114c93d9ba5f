#pragma once
#include "tfx/backend/cuda/common.hpp"

namespace tfx::cuda {

template <int D>
void softmax_impl(device<D>, Context& ctx, View x, float temperature) {
  raw::softmax(ctx.stream(), x.data, x.ld, x.rows, x.cols, temperature);
}

}  // namespace tfx::cuda
