// Softmax over rows: y = exp(x/T - max) / sum, numerically stable; -inf entries give 0; a row that is entirely
// -inf gives zeros rather than NaN (as FlashAttention does for fully masked rows).
#pragma once
#include <cmath>

#include "tfx/core/error.hpp"
#include "tfx/layers/concepts.hpp"

namespace tfx {

template <ExecutionPolicy P = cpu::simd<>>
class Softmax {
 public:
  static constexpr std::string_view name = "softmax";
  using policy = P;
  explicit Softmax(float temperature = 1.f) : temperature_(temperature) {
    TFX_CHECK(std::isfinite(temperature) && temperature > 0, "Softmax: temperature must be a positive finite number, got ",
              temperature);
  }
  /// x: [rows, cols], in place.
  void forward(context_t<P>& ctx, Rows<float, space_t<P>> x) const { kernels::softmax(P{}, ctx, x, temperature_); }

 private:
  float temperature_ = 1.f;
};

}  // namespace tfx
