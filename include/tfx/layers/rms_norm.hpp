// RMSNorm with Hugging Face semantics: statistics in f32, eps inside the root.
//   Llama / Qwen:  y = w * (x / sqrt(mean(x^2) + eps))
//   Gemma:         y = (1 + w) * (x / sqrt(mean(x^2) + eps))      (weights stored as offsets from 1)
// Activations are f32, so HF's "cast to the input dtype before the weight" is exact here.
#pragma once
#include <span>

#include "tfx/core/error.hpp"
#include "tfx/core/spec.hpp"
#include "tfx/layers/concepts.hpp"

namespace tfx {

template <int UnitOffset, StorageType T = float, ExecutionPolicy P = cpu::simd<>>
class BasicRMSNorm {
 public:
  static_assert(UnitOffset == 0 || UnitOffset == 1, "RMSNorm: weight offset is 0 (Llama) or 1 (Gemma)");
  static constexpr std::string_view name = UnitOffset ? "gemma_rms_norm" : "rms_norm";
  using policy = P;
  using space = space_t<P>;
  BasicRMSNorm() = default;
  BasicRMSNorm(Vector<const T, space> weight, float eps) : w_(weight), eps_(eps) {
    TFX_CHECK(!weight.empty(), name, ": empty weight");
    TFX_CHECK(eps >= 0, name, ": eps must be >= 0, got ", eps);
  }
  Index dim() const { return static_cast<Index>(w_.size()); }
  float eps() const { return eps_; }
  /// A model's hidden-size norm: hidden weights.
  static constexpr Counts counts(const ModelSpec& s) { return Counts::elementwise(s.hidden); }

  /// x, y: [rows, dim]; y may alias x.
  void forward(context_t<P>& ctx, Rows<const float, space> x, Rows<float, space> y) const {
    TFX_CHECK(x.cols == dim() && y.cols == dim() && y.rows == x.rows, name, ": input [", x.rows, ", ", x.cols,
              "] / output [", y.rows, ", ", y.cols, "] do not match dim ", dim());
    kernels::rms_norm(P{}, ctx, x, w_, eps_, static_cast<float>(UnitOffset), y);
  }

 private:
  Vector<const T, space> w_{};
  float eps_ = 1e-6f;
};

template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
using RMSNorm = BasicRMSNorm<0, T, P>;
template <StorageType T = float, ExecutionPolicy P = cpu::simd<>>
using GemmaRMSNorm = BasicRMSNorm<1, T, P>;

}  // namespace tfx
