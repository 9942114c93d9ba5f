// Linear: y = x . W^T + b for W in PyTorch's [out, in] layout, y = x . W + b for GPT-2's Conv1D [in, out].
// The weight format is the first template parameter: a storage type T means Dense<T> ([out, in]); any
// tfx::WeightFormat (Dense<T, weight_layout::in_out>, and block-quantized formats) selects its own kernels.
// The bias is f32 whatever the weights are: 1-D parameters keep their stored precision.
#pragma once
#include <array>
#include <span>

#include "tfx/core/error.hpp"
#include "tfx/core/weights.hpp"
#include "tfx/layers/concepts.hpp"

namespace tfx {

template <class W = float, ExecutionPolicy P = cpu::simd<>>
class Linear {
 public:
  using policy = P;
  using space = space_t<P>;
  /// The weight format in the policy's memory space (Dense<T> for a storage type T).
  using format = weight_format_in<W, space>;
  static_assert(WeightFormat<format>,
                "tfx::Linear: the weight must be a StorageType (float, bf16, f16) or a tfx::WeightFormat such as "
                "tfx::Dense<T, layout>");
  static constexpr std::string_view name = "linear";

  Linear() = default;
  explicit Linear(format weight, Vector<const float, space> bias = {}) : w_(weight), b_(bias) {
    TFX_CHECK(weight.out_features() > 0 && weight.in_features() > 0, "Linear: empty weight [out ",
              weight.out_features(), ", in ", weight.in_features(), "]");
    TFX_CHECK(bias.empty() || static_cast<Index>(bias.size()) == weight.out_features(), "Linear: bias has ",
              bias.size(), " elements, expected ", weight.out_features(), " (out_features)");
  }
  Index in_features() const { return w_.in_features(); }
  Index out_features() const { return w_.out_features(); }
  bool has_bias() const { return !b_.empty(); }
  const format& weight() const { return w_; }
  Vector<const float, space> bias() const { return b_; }

  /// x: [rows, in]; y: [rows, out] (must not alias x).
  void forward(context_t<P>& ctx, Rows<const float, space> x, Rows<float, space> y) const {
    check(x, y);
    kernels::linear(P{}, ctx, x, w_, b_, y);
  }
  void check(Rows<const float, space> x, Rows<float, space> y) const {
    TFX_CHECK(x.cols == in_features(), "Linear: input has ", x.cols, " features, expected ", in_features());
    TFX_CHECK(y.rows == x.rows && y.cols == out_features(), "Linear: output is [", y.rows, ", ", y.cols,
              "], expected [", x.rows, ", ", out_features(), "]");
    TFX_CHECK(static_cast<const void*>(y.data) != static_cast<const void*>(x.data), "Linear: output aliases the input");
  }

 private:
  format w_{};
  Vector<const float, space> b_{};
};

/// y[i] = linears[i](x) for linears that read the same input (q/k/v, gate/up): the same results as calling each,
/// in one pass where the backend has one (decode prepares x once and runs one parallel loop over all outputs).
template <class W, ExecutionPolicy P, std::size_t N>
void forward_group(context_t<P>& ctx, Rows<const float, space_t<P>> x, const std::array<const Linear<W, P>*, N>& linears,
                   const std::array<Rows<float, space_t<P>>, N>& y) {
  using format = typename Linear<W, P>::format;
  using Part = LinearPart<format, space_t<P>>;
  std::array<Part, N> parts;
  for (std::size_t i = 0; i < N; ++i) {
    linears[i]->check(x, y[i]);
    parts[i] = Part{&linears[i]->weight(), linears[i]->bias(), y[i]};
  }
  kernels::linear_group(P{}, ctx, x, std::span<const Part>(parts));
}

}  // namespace tfx
