// Concepts a composition is checked against, so that a wrong model type fails with one readable message.
#pragma once
#include "tfx/backend/cpu.hpp"
#include "tfx/core/context.hpp"
#include "tfx/core/policy.hpp"
#include "tfx/core/view.hpp"
#include "tfx/kernels/types.hpp"

namespace tfx {

/// The context and the matrix views a layer's forward takes: its policy's.
template <class L>
using layer_context_t = context_t<typename L::policy>;
template <class L, class T>
using layer_rows_t = Rows<T, space_t<typename L::policy>>;

/// Row-wise normalisation: forward(ctx, x, y), y may alias x.
template <class N>
concept Norm = requires(const N n, layer_context_t<N>& ctx, layer_rows_t<N, const float> x, layer_rows_t<N, float> y) {
  n.forward(ctx, x, y);
};

/// Position-wise MLP: forward(ctx, x [T, hidden], y [T, hidden]).
template <class M>
concept Mlp = requires(const M m, layer_context_t<M>& ctx, layer_rows_t<M, const float> x, layer_rows_t<M, float> y) {
  m.forward(ctx, x, y);
  { m.hidden() } -> std::convertible_to<Index>;
};

/// A rotary (relative) position encoding applied to q and k in place.
template <class R>
concept PositionEncoding = requires(const R r, layer_context_t<R>& ctx, layer_rows_t<R, float> x,
                                    std::span<const std::int64_t> pos) {
  r.apply(ctx, x, 1, pos);
  { R::layout } -> std::convertible_to<rope_layout>;
};

}  // namespace tfx
