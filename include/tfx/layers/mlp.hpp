// Position-wise MLPs.
//   GatedMLP (SwiGLU, GeGLU):      y = down(act(gate(x)) * up(x))
//   FeedForward (GELU, ReLU FFN):  y = fc2(act(fc1(x)))
#pragma once
#include "tfx/core/error.hpp"
#include "tfx/core/spec.hpp"
#include "tfx/layers/concepts.hpp"
#include "tfx/layers/linear.hpp"

namespace tfx {

template <activation Act, class W = float, ExecutionPolicy P = cpu::simd<>>
class GatedMLP {
 public:
  static constexpr std::string_view name = "gated_mlp";
  using policy = P;
  using space = space_t<P>;
  static constexpr activation act = Act;
  GatedMLP() = default;
  GatedMLP(Linear<W, P> gate, Linear<W, P> up, Linear<W, P> down) : gate_(gate), up_(up), down_(down) {
    TFX_CHECK(gate.in_features() == up.in_features() && gate.out_features() == up.out_features() &&
                  down.in_features() == gate.out_features() && down.out_features() == gate.in_features(),
              "GatedMLP: gate [", gate.out_features(), ", ", gate.in_features(), "], up [", up.out_features(), ", ",
              up.in_features(), "] and down [", down.out_features(), ", ", down.in_features(), "] do not fit together");
  }
  Index hidden() const { return gate_.in_features(); }
  Index intermediate() const { return gate_.out_features(); }
  /// gate, up, down of width `intermediate` (+ biases).
  static constexpr Counts counts(const ModelSpec& s, std::int64_t /*layer*/ = 0) {
    return shape_counts(s.hidden, s.intermediate, s.mlp_bias);
  }
  static constexpr Counts shape_counts(std::int64_t hidden, std::int64_t intermediate, bool bias) {
    Counts c = Counts::dense(3 * hidden * intermediate);
    if (bias) c += Counts::elementwise(2 * intermediate + hidden);
    return c;
  }

  void forward(context_t<P>& ctx, Rows<const float, space> x, Rows<float, space> y) const {
    ScratchScope scratch(ctx.scratch);
    Rows<float, space> g = scratch.rows(x.rows, intermediate()), u = scratch.rows(x.rows, intermediate());
    forward_group(ctx, x, std::array{&gate_, &up_}, std::array{g, u});
    kernels::gated_activation(P{}, ctx, g, Rows<const float, space>(u), Act);
    down_.forward(ctx, g, y);
  }

 private:
  Linear<W, P> gate_, up_, down_;
};

template <activation Act, class W = float, ExecutionPolicy P = cpu::simd<>>
class FeedForward {
 public:
  static constexpr std::string_view name = "feed_forward";
  using policy = P;
  using space = space_t<P>;
  static constexpr activation default_act = Act;
  FeedForward() = default;
  /// `act` overrides the type's activation (GPT-2 reads it from config.json).
  FeedForward(Linear<W, P> fc1, Linear<W, P> fc2, activation act = Act) : fc1_(fc1), fc2_(fc2), act_(act) {
    TFX_CHECK(fc2.in_features() == fc1.out_features() && fc2.out_features() == fc1.in_features(), "FeedForward: fc1 [",
              fc1.out_features(), ", ", fc1.in_features(), "] and fc2 [", fc2.out_features(), ", ", fc2.in_features(),
              "] do not fit together");
  }
  Index hidden() const { return fc1_.in_features(); }
  Index intermediate() const { return fc1_.out_features(); }
  activation act() const { return act_; }
  /// fc1, fc2 of width `intermediate` (+ biases).
  static constexpr Counts counts(const ModelSpec& s, std::int64_t /*layer*/ = 0) {
    Counts c = Counts::dense(2 * s.hidden * s.intermediate);
    if (s.mlp_bias) c += Counts::elementwise(s.intermediate + s.hidden);
    return c;
  }

  void forward(context_t<P>& ctx, Rows<const float, space> x, Rows<float, space> y) const {
    ScratchScope scratch(ctx.scratch);
    Rows<float, space> h = scratch.rows(x.rows, intermediate());
    fc1_.forward(ctx, x, h);
    kernels::activation(P{}, ctx, h, act_);
    fc2_.forward(ctx, h, y);
  }

 private:
  Linear<W, P> fc1_, fc2_;
  activation act_ = Act;
};

template <class W = float, ExecutionPolicy P = cpu::simd<>>
using SwiGLU = GatedMLP<activation::silu, W, P>;
template <class W = float, ExecutionPolicy P = cpu::simd<>>
using GeGLU = GatedMLP<activation::gelu_tanh, W, P>;  // Gemma's gelu_pytorch_tanh gate
template <class W = float, ExecutionPolicy P = cpu::simd<>>
using GeluMLP = FeedForward<activation::gelu_erf, W, P>;
template <class W = float, ExecutionPolicy P = cpu::simd<>>
using GeluTanhMLP = FeedForward<activation::gelu_tanh, W, P>;
template <class W = float, ExecutionPolicy P = cpu::simd<>>
using ReluMLP = FeedForward<activation::relu, W, P>;

}  // namespace tfx
