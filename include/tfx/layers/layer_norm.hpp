// LayerNorm (PyTorch): y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta, biased variance, beta optional.
#pragma once
#include <span>

#include "tfx/core/error.hpp"
#include "tfx/core/spec.hpp"
#include "tfx/layers/concepts.hpp"

namespace tfx {

template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
class LayerNorm {
 public:
  static constexpr std::string_view name = "layer_norm";
  using policy = P;
  using space = space_t<P>;
  LayerNorm() = default;
  LayerNorm(Vector<const T, space> weight, Vector<const T, space> bias, float eps = 1e-5f) : w_(weight), b_(bias), eps_(eps) {
    TFX_CHECK(!weight.empty(), "LayerNorm: empty weight");
    TFX_CHECK(bias.empty() || bias.size() == weight.size(), "LayerNorm: bias has ", bias.size(),
              " elements, weight has ", weight.size());
    TFX_CHECK(eps >= 0, "LayerNorm: eps must be >= 0, got ", eps);
  }
  Index dim() const { return static_cast<Index>(w_.size()); }
  /// A model's hidden-size norm: weight, and bias if the model's norms have one.
  static constexpr Counts counts(const ModelSpec& s) { return Counts::elementwise(s.hidden * (s.norm_bias ? 2 : 1)); }

  /// x, y: [rows, dim]; y may alias x.
  void forward(context_t<P>& ctx, Rows<const float, space> x, Rows<float, space> y) const {
    TFX_CHECK(x.cols == dim() && y.cols == dim() && y.rows == x.rows, "LayerNorm: input [", x.rows, ", ", x.cols,
              "] / output [", y.rows, ", ", y.cols, "] do not match dim ", dim());
    kernels::layer_norm(P{}, ctx, x, w_, b_, eps_, y);
  }

 private:
  Vector<const T, space> w_{}, b_{};
  float eps_ = 1e-5f;
};

}  // namespace tfx
