// Concepts a composition is checked against, so that a wrong model type fails with one readable message.
#pragma once
#include "tfx/core/context.hpp"
#include "tfx/core/view.hpp"
#include "tfx/kernels/types.hpp"

namespace tfx {

/// Row-wise normalisation: forward(ctx, x, y), y may alias x.
template <class N>
concept Norm = requires(const N n, cpu::Context& ctx, Rows<const float> x, Rows<float> y) { n.forward(ctx, x, y); };

/// Position-wise MLP: forward(ctx, x [T, hidden], y [T, hidden]).
template <class M>
concept Mlp = requires(const M m, cpu::Context& ctx, Rows<const float> x, Rows<float> y) {
  m.forward(ctx, x, y);
  { m.hidden() } -> std::convertible_to<Index>;
};

/// A rotary (relative) position encoding applied to q and k in place.
template <class R>
concept PositionEncoding = requires(const R r, cpu::Context& ctx, Rows<float> x, std::span<const std::int64_t> pos) {
  r.apply(ctx, x, 1, pos);
  { R::layout } -> std::convertible_to<rope_layout>;
};

}  // namespace tfx
