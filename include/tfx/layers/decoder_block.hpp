// DecoderBlock: the decoder layer of an encoder-decoder, three sub-layers with residuals.
//   pre-norm  (mBART, T5):                    h = x + self(n1(x));  h = h + cross(n2(h), mem);  out = h + mlp(n3(h))
//   post-norm (original Transformer, Marian): h = n1(x + self(x));  h = n2(h + cross(h, mem));  out = n3(h + mlp(h))
// Self-attention is the decoders' Attention (causal, with a KV cache); cross-attention reads the encoder
// output's keys and values, projected once (CrossAttention::project_memory).
#pragma once
#include "tfx/layers/cross_attention.hpp"
#include "tfx/layers/transformer_block.hpp"

namespace tfx {

template <Norm N, class SelfAttn, class CrossAttn, Mlp M, norm_placement Placement = norm_placement::post,
          ExecutionPolicy P = cpu::simd<>>
class DecoderBlock {
 public:
  static constexpr std::string_view name = "decoder_block";
  using policy = P;
  using space = space_t<P>;
  using Cache = BasicKvCache<space>;
  using StepT = BasicStep<space>;
  using Memory = typename CrossAttn::Memory;
  static constexpr norm_placement placement = Placement;
  DecoderBlock() = default;
  DecoderBlock(N norm1, SelfAttn self_attn, N norm2, CrossAttn cross_attn, N norm3, M mlp)
      : norm1_(norm1), self_(self_attn), norm2_(norm2), cross_(cross_attn), norm3_(norm3), mlp_(mlp) {
    TFX_CHECK(cross_attn.config().hidden == self_attn.config().hidden && mlp.hidden() == self_attn.config().hidden,
              "DecoderBlock: hidden sizes differ (self-attention ", self_attn.config().hidden, ", cross-attention ",
              cross_attn.config().hidden, ", MLP ", mlp.hidden(), ")");
  }
  const SelfAttn& self_attention() const { return self_; }
  const CrossAttn& cross_attention() const { return cross_; }
  static constexpr Counts counts(const ModelSpec& s, std::int64_t layer) {
    Counts c = N::counts(s);
    c += N::counts(s);
    c += N::counts(s);
    c += SelfAttn::counts(s);
    c += CrossAttn::counts(s);
    c += M::counts(s, layer);
    return c;
  }

  /// x: [T, hidden], the residual stream at positions step.start.., updated in place; `cache` holds the
  /// self-attention's earlier positions; `mem` the encoder output's keys and values for this layer.
  void forward(context_t<P>& ctx, Rows<float, space> x, const StepT& step, Cache& cache, const Memory& mem) const {
    using C = Rows<const float, space>;
    ScratchScope scratch(ctx.scratch);
    Rows<float, space> a = scratch.rows(x.rows, x.cols), b = scratch.rows(x.rows, x.cols);
    auto sublayer = [&](const N& norm, auto&& f) { detail::residual<Placement, P>(ctx, x, norm, a, b, f); };
    sublayer(norm1_, [&](C in, Rows<float, space> out) { self_.forward(ctx, in, step, cache, out); });
    sublayer(norm2_, [&](C in, Rows<float, space> out) { cross_.forward(ctx, in, mem, out); });
    sublayer(norm3_, [&](C in, Rows<float, space> out) { mlp_.forward(ctx, in, out); });
  }

 private:
  N norm1_{};
  SelfAttn self_{};
  N norm2_{};
  CrossAttn cross_{};
  N norm3_{};
  M mlp_{};
};

}  // namespace tfx
