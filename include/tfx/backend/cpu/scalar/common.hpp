// Reference kernels: plain loops with double accumulation. They are the specification; clarity over speed.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <span>

#include "tfx/core/dtype.hpp"
#include "tfx/core/policy.hpp"
#include "tfx/core/view.hpp"
#include "tfx/kernels/types.hpp"

namespace tfx::cpu::ref {

inline double activate(double x, activation a) {
  switch (a) {
    case activation::silu: return x / (1.0 + std::exp(-x));
    case activation::gelu_erf: return 0.5 * x * (1.0 + std::erf(x / std::numbers::sqrt2));
    case activation::gelu_tanh: {
      const double k = std::sqrt(2.0 / std::numbers::pi);
      return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
    }
    case activation::relu: return x > 0 ? x : 0.0;
  }
  return x;
}

/// Softmax of n doubles in place; a row with no finite entry becomes zeros (not NaN).
inline void softmax(double* s, Index n) {
  double m = -std::numeric_limits<double>::infinity();
  for (Index j = 0; j < n; ++j) m = s[j] > m ? s[j] : m;
  if (m == -std::numeric_limits<double>::infinity()) {
    for (Index j = 0; j < n; ++j) s[j] = 0;
    return;
  }
  double sum = 0;
  for (Index j = 0; j < n; ++j) sum += (s[j] = std::exp(s[j] - m));
  for (Index j = 0; j < n; ++j) s[j] /= sum;
}

}  // namespace tfx::cpu::ref
