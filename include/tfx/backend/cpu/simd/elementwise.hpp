#pragma once
#include <numbers>

#include "tfx/backend/cpu/simd/common.hpp"

TFX_VECTOR_CODE_BEGIN

namespace tfx::cpu {

namespace vec {
template <class A>
inline fbatch<A> activate(fbatch<A> x, activation a) {
  switch (a) {
    case activation::silu: return x / (fbatch<A>(1.f) + xsimd::exp(-x));
    case activation::gelu_erf:
      return fbatch<A>(0.5f) * x * (fbatch<A>(1.f) + xsimd::erf(x * fbatch<A>(static_cast<float>(1.0 / std::numbers::sqrt2))));
    case activation::gelu_tanh: {
      const fbatch<A> k(static_cast<float>(0.7978845608028654));  // sqrt(2/pi)
      return fbatch<A>(0.5f) * x * (fbatch<A>(1.f) + xsimd::tanh(k * (x + fbatch<A>(0.044715f) * x * x * x)));
    }
    case activation::relu: return xsimd::max(x, fbatch<A>(0.f));
  }
  return x;
}
inline float activate(float x, activation a) {
  switch (a) {
    case activation::silu: return x / (1.f + std::exp(-x));
    case activation::gelu_erf: return 0.5f * x * (1.f + std::erf(x * static_cast<float>(1.0 / std::numbers::sqrt2)));
    case activation::gelu_tanh: return 0.5f * x * (1.f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case activation::relu: return x > 0 ? x : 0.f;
  }
  return x;
}

/// Applies f(batch, index) over [0, n) in vector steps and f(scalar) over the tail, rows in parallel.
template <class A, class VecF, class ScalarF>
inline void for_each_row(const Context& ctx, Index rows, Index cols, VecF vf, ScalarF sf) {
  constexpr Index W = fbatch<A>::size;
  const int nt = threads_for_rows(ctx, rows, rows * cols, 4096);
  vec::parallel_for(nt, rows, [&](Index r) {
    Index c = 0;
    for (; c + W <= cols; c += W) vf(r, c);
    for (; c < cols; ++c) sf(r, c);
  });
}
}  // namespace vec

template <class A>
void activation_impl(simd<A>, Context& ctx, Rows<float> x, activation a) {
  using B = vec::fbatch<A>;
  vec::for_each_row<A>(
      ctx, x.rows, x.cols, [&](Index r, Index c) { vec::activate<A>(B::load_unaligned(x.row(r) + c), a).store_unaligned(x.row(r) + c); },
      [&](Index r, Index c) { x(r, c) = vec::activate(x(r, c), a); });
}

template <class A>
void gated_activation_impl(simd<A>, Context& ctx, Rows<float> gate, Rows<const float> up, activation a) {
  using B = vec::fbatch<A>;
  vec::for_each_row<A>(
      ctx, gate.rows, gate.cols,
      [&](Index r, Index c) {
        (vec::activate<A>(B::load_unaligned(gate.row(r) + c), a) * B::load_unaligned(up.row(r) + c)).store_unaligned(gate.row(r) + c);
      },
      [&](Index r, Index c) { gate(r, c) = vec::activate(gate(r, c), a) * up(r, c); });
}

template <class A>
void add_impl(simd<A>, Context& ctx, Rows<float> y, Rows<const float> x) {
  using B = vec::fbatch<A>;
  vec::for_each_row<A>(
      ctx, y.rows, y.cols,
      [&](Index r, Index c) { (B::load_unaligned(y.row(r) + c) + B::load_unaligned(x.row(r) + c)).store_unaligned(y.row(r) + c); },
      [&](Index r, Index c) { y(r, c) += x(r, c); });
}

template <class A>
void scale_impl(simd<A>, Context& ctx, Rows<float> x, float s) {
  using B = vec::fbatch<A>;
  vec::for_each_row<A>(
      ctx, x.rows, x.cols, [&](Index r, Index c) { (B::load_unaligned(x.row(r) + c) * B(s)).store_unaligned(x.row(r) + c); },
      [&](Index r, Index c) { x(r, c) *= s; });
}

}  // namespace tfx::cpu

TFX_VECTOR_CODE_END
