#pragma once
#include <cstdint>
#include <span>

#include "tfx/backend/cuda/common.hpp"

namespace tfx::cuda {

/// ids: pageable host memory, validated by the layer; copied to device scratch on the context's stream (staged
/// before the copy call returns, so the caller may reuse the ids at once).
template <int D, StorageType T>
void embedding_impl(device<D>, Context& ctx, std::span<const std::int32_t> ids, Rows<const T, device_space> table,
                    View out) {
  ScratchScope<device_space> scratch(ctx.scratch);
  std::span<std::int32_t> d = scratch.take<std::int32_t>(ids.size());
  raw::copy_to_device(d.data(), ids.data(), ids.size_bytes(), ctx.stream());
  raw::embedding(ctx.stream(), d.data(), static_cast<Index>(ids.size()), table.data, dtype_of<T>(), table.ld, table.cols,
                 out.data, out.ld);
}

}  // namespace tfx::cuda
