// Weight formats: how a matrix is stored, as a type. A Linear layer is parameterised by its weight format, and
// the kernels add one overload per (policy, format); so a new format (block-quantized int8/int4: values + scales)
// is a new struct here plus kernel overloads, and no layer changes.
//
//   Dense<T>                      [out, in]   PyTorch nn.Linear: y = x . W^T
//   Dense<T, weight_layout::in_out> [in, out] GPT-2 Conv1D:      y = x . W
//
// A Dense weight is a view (it points into the mapped checkpoint); its row stride may exceed its width, so a
// fused tensor (GPT-2's c_attn holds q, k and v side by side) is used in place as three column slices.
#pragma once
#include <concepts>

#include "tfx/core/dtype.hpp"
#include "tfx/core/view.hpp"

namespace tfx {

enum class weight_layout {
  out_in,  // [out_features, in_features], PyTorch nn.Linear
  in_out,  // [in_features, out_features], GPT-2 Conv1D
};

template <StorageType T, weight_layout L = weight_layout::out_in>
struct Dense {
  using element_type = T;
  static constexpr weight_layout layout = L;

  Rows<const T> m{};  // the matrix as stored, in `layout`

  constexpr Dense() = default;
  /// A view of the stored matrix (Rows<T> or Rows<const T>) converts implicitly.
  template <class V>
    requires std::convertible_to<V, Rows<const T>>
  constexpr Dense(V stored) : m(stored) {}  // NOLINT(google-explicit-constructor)
  constexpr Index out_features() const { return L == weight_layout::out_in ? m.rows : m.cols; }
  constexpr Index in_features() const { return L == weight_layout::out_in ? m.cols : m.rows; }
  constexpr bool empty() const { return m.data == nullptr; }
};

/// A weight format: knows its feature counts (the kernels know its layout). Dense<T, layout> today;
/// block-quantized formats later.
template <class W>
concept WeightFormat = requires(const W w) {
  { w.out_features() } -> std::convertible_to<Index>;
  { w.in_features() } -> std::convertible_to<Index>;
};

namespace detail {
template <class W>
struct weight_format {
  using type = W;
};
template <StorageType T>
struct weight_format<T> {
  using type = Dense<T>;
};
}  // namespace detail

/// A storage type T names Dense<T> ([out, in]); a format names itself. So Linear<bf16> is Linear<Dense<bf16>>.
template <class W>
using weight_format_t = typename detail::weight_format<W>::type;

}  // namespace tfx
