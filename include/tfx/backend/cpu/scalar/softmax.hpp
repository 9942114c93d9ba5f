#pragma once
#include <vector>

#include "tfx/backend/cpu/scalar/common.hpp"

namespace tfx::cpu {

/// x = softmax(x / temperature) row by row; -inf entries get 0; an all -inf row becomes zeros.
inline void softmax_impl(scalar, Context&, Rows<float> x, float temperature) {
  std::vector<double> s(static_cast<std::size_t>(x.cols));
  for (Index r = 0; r < x.rows; ++r) {
    for (Index c = 0; c < x.cols; ++c) s[static_cast<std::size_t>(c)] = static_cast<double>(x(r, c)) / temperature;
    ref::softmax(s.data(), x.cols);
    for (Index c = 0; c < x.cols; ++c) x(r, c) = static_cast<float>(s[static_cast<std::size_t>(c)]);
  }
}

}  // namespace tfx::cpu
