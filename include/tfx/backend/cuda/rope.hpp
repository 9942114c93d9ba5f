#pragma once
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "tfx/backend/cuda/common.hpp"

namespace tfx::cuda {

/// positions and inv_freq: pageable host memory (cudaMemcpyAsync stages it before returning, so the caller may
/// free it at once). Consecutive positions (every forward pass) are computed on the device;
/// any other list is computed on the host with the reference formula and copied.
template <int D>
void rope_table_impl(device<D>, Context& ctx, std::span<const std::int64_t> positions, std::span<const float> inv_freq,
                     float scaling, View cos, View sin) {
  const Index n = static_cast<Index>(positions.size()), half = static_cast<Index>(inv_freq.size());
  if (n == 0) return;
  bool consecutive = true;
  for (Index t = 1; t < n && consecutive; ++t) consecutive = positions[static_cast<std::size_t>(t)] == positions[0] + t;
  TFX_CHECK(cos.ld == half && sin.ld == half, "cuda rope_table: tables must be contiguous [", n, ", ", half, "]");
  ScratchScope<device_space> scratch(ctx.scratch);
  if (consecutive) {
    std::span<float> f = scratch.take<float>(inv_freq.size());
    raw::copy_to_device(f.data(), inv_freq.data(), inv_freq.size_bytes(), ctx.stream());
    raw::rope_table(ctx.stream(), f.data(), half, positions[0], n, scaling, cos.data, sin.data);
    return;  // (a copy from pageable host memory is staged before cudaMemcpyAsync returns: no wait needed)
  }
  std::vector<float> c(static_cast<std::size_t>(n * half)), s(c.size());
  for (Index t = 0; t < n; ++t)
    for (Index j = 0; j < half; ++j) {
      const float theta = static_cast<float>(positions[static_cast<std::size_t>(t)]) * inv_freq[static_cast<std::size_t>(j)];
      c[static_cast<std::size_t>(t * half + j)] = std::cos(theta) * scaling;
      s[static_cast<std::size_t>(t * half + j)] = std::sin(theta) * scaling;
    }
  raw::copy_to_device(cos.data, c.data(), c.size() * sizeof(float), ctx.stream());
  raw::copy_to_device(sin.data, s.data(), s.size() * sizeof(float), ctx.stream());
}

template <int D>
void rope_impl(device<D>, Context& ctx, View x, int heads, int head_dim, BasicRopeTable<device_space> t,
               rope_layout layout) {
  TFX_CHECK(t.cos.ld == t.cos.cols && t.sin.ld == t.sin.cols, "cuda rope: tables must be contiguous");
  raw::rope(ctx.stream(), x.data, x.ld, x.rows, heads, head_dim, t.cos.data, t.sin.data, t.cos.cols, layout);
}

}  // namespace tfx::cuda
