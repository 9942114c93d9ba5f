#pragma once
#include <span>

#include "tfx/backend/cuda/common.hpp"
#include "tfx/core/weights.hpp"

namespace tfx::cuda {

/// y = x . W^T + b through cuBLAS (f32 accumulation; bf16 / f16 weights multiply x rounded to their type, as
/// cpu::Precision::fast does on a CPU).
template <int D, StorageType T, weight_layout L>
void linear_impl(device<D>, Context& ctx, ConstView x, const Dense<T, L, device_space>& w,
                 Vector<const float, device_space> bias, View y) {
  ScratchScope<device_space> scratch(ctx.scratch);
  const std::size_t ws = raw::linear_workspace(x.rows, w.in_features(), dtype_of<T>());
  void* workspace = ws ? static_cast<void*>(scratch.take<std::byte>(ws).data()) : nullptr;
  raw::linear(ctx.blas(), ctx.stream(), x.data, x.ld, x.rows, w.m.data, dtype_of<T>(), L == weight_layout::in_out,
              w.out_features(), w.in_features(), w.m.ld, bias.empty() ? nullptr : bias.data(), y.data, y.ld, workspace);
}

template <int D, class W>
void linear_group_impl(device<D> p, Context& ctx, ConstView x, std::span<const LinearPart<W, device_space>> parts) {
  for (const auto& part : parts) linear_impl(p, ctx, x, *part.w, part.bias, part.y);
}

}  // namespace tfx::cuda
