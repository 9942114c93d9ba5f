#pragma once
#include "tfx/backend/cpu/simd/common.hpp"
#include "tfx/core/context.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu {

template <class A, class T>
void rms_norm_impl(simd<A>, Context& ctx, Rows<const float> x, Vector<const T> w, float eps, float weight_offset,
                   Rows<float> y) {
  using B = vec::fbatch<A>;
  constexpr Index W = B::size;
  const Index n = x.cols;
  // The gain as f32: f32 weights without the Gemma offset are used as they are, others are widened once per call.
  ScratchScope scratch(ctx.scratch);
  const float* g = nullptr;
  if constexpr (std::is_same_v<T, float>) {
    if (weight_offset == 0.f) g = w.data();
  }
  if (g == nullptr) {
    float* widened = scratch.floats(static_cast<std::size_t>(n)).data();
    for (Index c = 0; c < n; ++c) widened[c] = weight_offset + to_float(w[static_cast<std::size_t>(c)]);
    g = widened;
  }
  const int nt = vec::threads_for_rows(ctx, x.rows, x.rows * n, 8192);
  vec::parallel_for(nt, x.rows, [&](Index r) {
    const float* xr = x.row(r);
    float* yr = y.row(r);
    const float inv = 1.f / std::sqrt(vec::dot<A>(xr, xr, n) / static_cast<float>(n) + eps);
    const B vinv(inv);
    Index c = 0;
    for (; c + W <= n; c += W) (B::load_unaligned(xr + c) * vinv * B::load_unaligned(g + c)).store_unaligned(yr + c);
    for (; c < n; ++c) yr[c] = xr[c] * inv * g[c];
  });
}

template <class A, class T>
void layer_norm_impl(simd<A>, Context& ctx, Rows<const float> x, Vector<const T> gamma, Vector<const T> beta,
                     float eps, Rows<float> y) {
  using B = vec::fbatch<A>;
  constexpr Index W = B::size;
  const Index n = x.cols;
  ScratchScope scratch(ctx.scratch);
  float* g = scratch.floats(static_cast<std::size_t>(n)).data();
  float* b = scratch.floats(static_cast<std::size_t>(n)).data();
  for (Index c = 0; c < n; ++c) {
    g[c] = to_float(gamma[static_cast<std::size_t>(c)]);
    b[c] = beta.empty() ? 0.f : to_float(beta[static_cast<std::size_t>(c)]);
  }
  const int nt = vec::threads_for_rows(ctx, x.rows, x.rows * n, 8192);
  vec::parallel_for(nt, x.rows, [&](Index r) {
    const float* xr = x.row(r);
    float* yr = y.row(r);
    // Two passes (mean, then centred squares): one-pass E[x^2] - E[x]^2 cancels badly for offset inputs.
    B acc(0.f);
    Index c = 0;
    for (; c + W <= n; c += W) acc += B::load_unaligned(xr + c);
    float sum = vec::reduce_sum<A>(acc);
    for (; c < n; ++c) sum += xr[c];
    const float mean = sum / static_cast<float>(n);
    const B vm(mean);
    acc = B(0.f);
    for (c = 0; c + W <= n; c += W) {
      const B d = B::load_unaligned(xr + c) - vm;
      acc = xsimd::fma(d, d, acc);
    }
    float var = vec::reduce_sum<A>(acc);
    for (; c < n; ++c) var += (xr[c] - mean) * (xr[c] - mean);
    const float inv = 1.f / std::sqrt(var / static_cast<float>(n) + eps);
    const B vinv(inv);
    for (c = 0; c + W <= n; c += W)
      xsimd::fma((B::load_unaligned(xr + c) - vm) * vinv, B::load_unaligned(g + c), B::load_unaligned(b + c)).store_unaligned(yr + c);
    for (; c < n; ++c) yr[c] = (xr[c] - mean) * inv * g[c] + b[c];
  });
}

}  // namespace tfx::cpu

TFX_VECTOR_CODE_END
