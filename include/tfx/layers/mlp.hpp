// Position-wise MLPs.
//   GatedMLP (SwiGLU, GeGLU):      y = down(act(gate(x)) * up(x))
//   FeedForward (GELU, ReLU FFN):  y = fc2(act(fc1(x)))
#pragma once
#include "tfx/core/error.hpp"
#include "tfx/kernels/elementwise.hpp"
#include "tfx/layers/linear.hpp"

namespace tfx {

template <activation Act, StorageType T = float, ExecutionPolicy P = cpu::simd<>>
class GatedMLP {
 public:
  static constexpr std::string_view name = "gated_mlp";
  static constexpr activation act = Act;
  GatedMLP() = default;
  GatedMLP(Linear<T, P> gate, Linear<T, P> up, Linear<T, P> down) : gate_(gate), up_(up), down_(down) {
    TFX_CHECK(gate.in_features() == up.in_features() && gate.out_features() == up.out_features() &&
                  down.in_features() == gate.out_features() && down.out_features() == gate.in_features(),
              "GatedMLP: gate [", gate.out_features(), ", ", gate.in_features(), "], up [", up.out_features(), ", ",
              up.in_features(), "] and down [", down.out_features(), ", ", down.in_features(), "] do not fit together");
  }
  Index hidden() const { return gate_.in_features(); }
  Index intermediate() const { return gate_.out_features(); }

  void forward(cpu::Context& ctx, Rows<const float> x, Rows<float> y) const {
    cpu::ScratchScope scratch(ctx.scratch);
    Rows<float> g(scratch.floats(static_cast<std::size_t>(x.rows * intermediate())).data(), x.rows, intermediate());
    Rows<float> u(scratch.floats(static_cast<std::size_t>(x.rows * intermediate())).data(), x.rows, intermediate());
    gate_.forward(ctx, x, g);
    up_.forward(ctx, x, u);
    kernels::gated_activation(P{}, ctx, g, Rows<const float>(u), Act);
    down_.forward(ctx, g, y);
  }

 private:
  Linear<T, P> gate_, up_, down_;
};

template <activation Act, StorageType T = float, ExecutionPolicy P = cpu::simd<>>
class FeedForward {
 public:
  static constexpr std::string_view name = "feed_forward";
  static constexpr activation act = Act;
  FeedForward() = default;
  FeedForward(Linear<T, P> fc1, Linear<T, P> fc2) : fc1_(fc1), fc2_(fc2) {
    TFX_CHECK(fc2.in_features() == fc1.out_features() && fc2.out_features() == fc1.in_features(), "FeedForward: fc1 [",
              fc1.out_features(), ", ", fc1.in_features(), "] and fc2 [", fc2.out_features(), ", ", fc2.in_features(),
              "] do not fit together");
  }
  Index hidden() const { return fc1_.in_features(); }
  Index intermediate() const { return fc1_.out_features(); }

  void forward(cpu::Context& ctx, Rows<const float> x, Rows<float> y) const {
    cpu::ScratchScope scratch(ctx.scratch);
    Rows<float> h(scratch.floats(static_cast<std::size_t>(x.rows * intermediate())).data(), x.rows, intermediate());
    fc1_.forward(ctx, x, h);
    kernels::activation(P{}, ctx, h, Act);
    fc2_.forward(ctx, h, y);
  }

 private:
  Linear<T, P> fc1_, fc2_;
};

template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
using SwiGLU = GatedMLP<activation::silu, T, P>;
template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
using GeGLU = GatedMLP<activation::gelu_tanh, T, P>;  // Gemma's gelu_pytorch_tanh gate
template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
using GeluMLP = FeedForward<activation::gelu_erf, T, P>;
template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
using GeluTanhMLP = FeedForward<activation::gelu_tanh, T, P>;
template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
using ReluMLP = FeedForward<activation::relu, T, P>;

}  // namespace tfx
