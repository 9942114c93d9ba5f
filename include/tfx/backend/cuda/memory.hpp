#pragma once
#include "tfx/backend/cuda/common.hpp"

namespace tfx::cuda {

template <int D>
void kv_append_impl(device<D>, Context& ctx, KvSlots<device_space> dst, ConstView k, ConstView v) {
  raw::kv_append(ctx.stream(), dst.k, dst.v, dst.type, dst.head_stride, dst.kv_heads, dst.head_dim, dst.pos, k.data, k.ld,
                 v.data, v.ld, k.rows);
}

/// Copies device rows to host rows and waits: the one synchronisation of a forward pass.
template <int D>
void copy_to_host_impl(device<D>, Context& ctx, ConstView src, Rows<float> dst) {
  TFX_CHECK(src.rows == dst.rows && src.cols == dst.cols, "cuda copy_to_host: [", src.rows, ", ", src.cols, "] to [",
            dst.rows, ", ", dst.cols, "]");
  if (src.ld == src.cols && dst.ld == dst.cols) {
    raw::copy_to_host(dst.data, src.data, static_cast<std::size_t>(src.rows * src.cols) * sizeof(float), ctx.stream());
  } else {
    for (Index r = 0; r < src.rows; ++r)
      raw::copy_to_host(dst.row(r), src.row(r), static_cast<std::size_t>(src.cols) * sizeof(float), ctx.stream());
  }
  ctx.synchronize();
}

}  // namespace tfx::cuda
