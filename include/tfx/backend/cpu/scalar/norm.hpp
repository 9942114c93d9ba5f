#pragma once
#include "tfx/backend/cpu/scalar/common.hpp"

namespace tfx::cpu {

/// y = x / sqrt(mean(x^2) + eps) * (weight_offset + w)    (weight_offset: 0 Llama/Qwen, 1 Gemma)
template <class T>
void rms_norm_impl(scalar, Context&, Rows<const float> x, Vector<const T> w, float eps, float weight_offset,
                   Rows<float> y) {
  for (Index r = 0; r < x.rows; ++r) {
    double ss = 0;
    for (Index c = 0; c < x.cols; ++c) ss += static_cast<double>(x(r, c)) * x(r, c);
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(x.cols) + eps);
    for (Index c = 0; c < x.cols; ++c)
      y(r, c) = static_cast<float>(x(r, c) * inv * (weight_offset + static_cast<double>(to_float(w[c]))));
  }
}

/// y = (x - mean) / sqrt(var + eps) * gamma + beta    (biased variance; beta optional)
template <class T>
void layer_norm_impl(scalar, Context&, Rows<const float> x, Vector<const T> gamma, Vector<const T> beta,
                     float eps, Rows<float> y) {
  for (Index r = 0; r < x.rows; ++r) {
    double mean = 0, var = 0;
    for (Index c = 0; c < x.cols; ++c) mean += x(r, c);
    mean /= static_cast<double>(x.cols);
    for (Index c = 0; c < x.cols; ++c) var += (x(r, c) - mean) * (x(r, c) - mean);
    const double inv = 1.0 / std::sqrt(var / static_cast<double>(x.cols) + eps);
    for (Index c = 0; c < x.cols; ++c) {
      double v = (x(r, c) - mean) * inv * to_float(gamma[c]);
      if (!beta.empty()) v += to_float(beta[c]);
      y(r, c) = static_cast<float>(v);
    }
  }
}

}  // namespace tfx::cpu
