// TransformerBlock with residuals.
//   pre-norm  (Llama, Qwen):            h = x + attn(norm1(x));  out = h + mlp(norm2(h))
//   post-norm (original Transformer):   h = norm1(x + attn(x));  out = norm2(h + mlp(h))
#pragma once
#include "tfx/layers/attention.hpp"
#include "tfx/layers/concepts.hpp"

namespace tfx {

enum class norm_placement { pre, post };

namespace detail {
/// One residual sub-layer f around norm: pre-norm x += f(norm(x)); post-norm x = norm(x + f(x)). a and b are
/// scratch rows shaped as x; f(in, out) writes its output to out. With kept < x.rows, f reads every row but writes
/// only the last `kept` (out has kept rows), and only those rows of x are updated.
template <norm_placement Placement, ExecutionPolicy P, class N, class F>
void residual(context_t<P>& ctx, Rows<float, space_t<P>> x, const N& norm, Rows<float, space_t<P>> a,
              Rows<float, space_t<P>> b, F&& f, Index kept = -1) {
  using C = Rows<const float, space_t<P>>;
  if (kept < 0) kept = x.rows;
  const Rows<float, space_t<P>> xk = x.slice_rows(x.rows - kept, kept), bk = b.slice_rows(0, kept);
  if constexpr (Placement == norm_placement::pre) {
    norm.forward(ctx, x, a);
    f(C(a), bk);
    kernels::add(P{}, ctx, xk, C(bk));
  } else {
    f(C(x), bk);
    kernels::add(P{}, ctx, xk, C(bk));
    norm.forward(ctx, xk, xk);
  }
}
}  // namespace detail

template <Norm N, class Attn, Mlp M, norm_placement Placement = norm_placement::pre, ExecutionPolicy P = cpu::simd<>>
class TransformerBlock {
 public:
  static constexpr std::string_view name = "transformer_block";
  using policy = P;
  using space = space_t<P>;
  using Cache = BasicKvCache<space>;
  using StepT = BasicStep<space>;
  static constexpr norm_placement placement = Placement;
  TransformerBlock() = default;
  TransformerBlock(N norm1, Attn attn, N norm2, M mlp) : norm1_(norm1), attn_(attn), norm2_(norm2), mlp_(mlp) {
    TFX_CHECK(mlp.hidden() == attn.config().hidden, "TransformerBlock: MLP hidden size ", mlp.hidden(),
              " differs from attention hidden size ", attn.config().hidden);
  }
  const Attn& attention() const { return attn_; }
  /// Two norms, attention and the MLP of layer `layer` (a mixture of experts may differ per layer).
  static constexpr Counts counts(const ModelSpec& s, std::int64_t layer) {
    Counts c = N::counts(s);
    c += N::counts(s);
    c += Attn::counts(s);
    c += M::counts(s, layer);
    return c;
  }

  /// x: [T, hidden], the residual stream, updated in place; positions start_pos.. go through `cache`.
  void forward(context_t<P>& ctx, Rows<float, space> x, Index start_pos, Cache& cache) const {
    forward(ctx, x, StepT{start_pos}, cache);
  }
  /// The same, with the forward pass's rotary table when the model made one. With step.keep set, only the last
  /// step.keep rows of x are updated (every row still enters the cache); the others are left as they were.
  void forward(context_t<P>& ctx, Rows<float, space> x, const StepT& step, Cache& cache) const {
    run(ctx, x, [&](Rows<const float, space> in, Rows<float, space> out) { attn_.forward(ctx, in, step, cache, out); },
        step.keep > 0 ? step.keep : x.rows);
  }
  /// Without a cache: x is a padded batch of sequences (see BasicBatch), updated in place.
  void forward(context_t<P>& ctx, Rows<float, space> x, const BasicBatch<space>& batch) const {
    run(ctx, x, [&](Rows<const float, space> in, Rows<float, space> out) { attn_.forward(ctx, in, batch, out); });
  }

 private:
  template <class Attend>
  void run(context_t<P>& ctx, Rows<float, space> x, Attend&& attend, Index kept = -1) const {
    if (kept < 0) kept = x.rows;
    ScratchScope scratch(ctx.scratch);
    Rows<float, space> a = scratch.rows(x.rows, x.cols), b = scratch.rows(x.rows, x.cols);
    detail::residual<Placement, P>(ctx, x, norm1_, a, b, attend, kept);
    detail::residual<Placement, P>(ctx, x.slice_rows(x.rows - kept, kept), norm2_, a.slice_rows(0, kept),
                                   b.slice_rows(0, kept),
                                   [&](Rows<const float, space> in, Rows<float, space> out) { mlp_.forward(ctx, in, out); });
  }

  N norm1_{};
  Attn attn_{};
  N norm2_{};
  M mlp_{};
};

}  // namespace tfx
