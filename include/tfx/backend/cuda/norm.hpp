#pragma once
#include "tfx/backend/cuda/common.hpp"

namespace tfx::cuda {

template <int D, StorageType T>
void rms_norm_impl(device<D>, Context& ctx, ConstView x, Vector<const T, device_space> w, float eps, float weight_offset,
                   View y) {
  raw::rms_norm(ctx.stream(), x.data, x.ld, x.rows, x.cols, w.data(), dtype_of<T>(), eps, weight_offset, y.data, y.ld);
}

template <int D, StorageType T>
void layer_norm_impl(device<D>, Context& ctx, ConstView x, Vector<const T, device_space> gamma,
                     Vector<const T, device_space> beta, float eps, View y) {
  raw::layer_norm(ctx.stream(), x.data, x.ld, x.rows, x.cols, gamma.data(), beta.empty() ? nullptr : beta.data(),
                  dtype_of<T>(), eps, y.data, y.ld);
}

}  // namespace tfx::cuda
