// Linear: y = x . W^T + b, W in PyTorch's [out, in] layout, bias optional.
#pragma once
#include <span>

#include "tfx/core/error.hpp"
#include "tfx/kernels/linear.hpp"

namespace tfx {

template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
class Linear {
 public:
  static constexpr std::string_view name = "linear";
  Linear() = default;
  explicit Linear(Rows<const T> weight, std::span<const T> bias = {}) : w_(weight), b_(bias) {
    TFX_CHECK(weight.rows > 0 && weight.cols > 0, "Linear: empty weight [", weight.rows, ", ", weight.cols, "]");
    TFX_CHECK(bias.empty() || static_cast<Index>(bias.size()) == weight.rows, "Linear: bias has ", bias.size(),
              " elements, expected ", weight.rows, " (out_features)");
  }
  Index in_features() const { return w_.cols; }
  Index out_features() const { return w_.rows; }
  bool has_bias() const { return !b_.empty(); }

  /// x: [rows, in]; y: [rows, out] (must not alias x).
  void forward(cpu::Context& ctx, Rows<const float> x, Rows<float> y) const {
    TFX_CHECK(x.cols == in_features(), "Linear: input has ", x.cols, " features, expected ", in_features());
    TFX_CHECK(y.rows == x.rows && y.cols == out_features(), "Linear: output is [", y.rows, ", ", y.cols,
              "], expected [", x.rows, ", ", out_features(), "]");
    TFX_CHECK(static_cast<const void*>(y.data) != static_cast<const void*>(x.data), "Linear: output aliases the input");
    kernels::linear(P{}, ctx, x, w_, b_, y);
  }

 private:
  Rows<const T> w_{};
  std::span<const T> b_{};
};

}  // namespace tfx
