// Weight formats: how a matrix is stored, as a type. A Linear layer is parameterised by its weight format, and
// the kernels add one overload per (policy, format); so a new format (block-quantized int8/int4: values + scales)
// is a new struct here plus kernel overloads, and no layer changes.
//
//   Dense<T>                      [out, in]   PyTorch nn.Linear: y = x . W^T
//   Dense<T, weight_layout::in_out> [in, out] GPT-2 Conv1D:      y = x . W
//   Q8_0                          [out, in]   int8 blocks of 32 along `in`, one f32 scale per block
//
// A Dense weight is a view (it points into the mapped checkpoint); its row stride may exceed its width, so a
// fused tensor (GPT-2's c_attn holds q, k and v side by side) is used in place as three column slices.
#pragma once
#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tfx/core/dtype.hpp"
#include "tfx/core/view.hpp"

namespace tfx {

enum class weight_layout {
  out_in,  // [out_features, in_features], PyTorch nn.Linear
  in_out,  // [in_features, out_features], GPT-2 Conv1D
};

template <StorageType T, weight_layout L = weight_layout::out_in, class Space = host_space>
struct Dense {
  using element_type = T;
  using space = Space;
  static constexpr weight_layout layout = L;

  Rows<const T, Space> m{};  // the matrix as stored, in `layout`

  constexpr Dense() = default;
  /// A view of the stored matrix (Rows<T> or Rows<const T>, in Space) converts implicitly.
  template <class V>
    requires std::convertible_to<V, Rows<const T, Space>>
  constexpr Dense(V stored) : m(stored) {}  // NOLINT(google-explicit-constructor)
  constexpr Index out_features() const { return L == weight_layout::out_in ? m.rows : m.cols; }
  constexpr Index in_features() const { return L == weight_layout::out_in ? m.cols : m.rows; }
  constexpr bool empty() const { return m.data == nullptr; }
};

/// Block-quantized int8 weights, [out, in] whatever the checkpoint's layout: w[o, i] = q[o, i] * d[o, i / 32], with
/// q in [-127, 127] and d = max |w| over the block / 127 (llama.cpp's Q8_0, with an f32 scale). Rows are padded to
/// an even number of blocks (q = 0, d = 0), so a kernel may read blocks in pairs. A view: the quantized arrays are
/// owned elsewhere (quantize_q8_0 writes them into caller-provided memory).
struct Q8_0 {
  using space = host_space;
  static constexpr Index block = 32;
  const std::int8_t* q = nullptr;  // [out][row_stride]
  const float* d = nullptr;        // [out][row_stride / 32]
  Index out = 0, in = 0;
  Index row_stride = 0;  // in, rounded up to a multiple of 64

  static constexpr Index padded(Index in_features) { return (in_features + 2 * block - 1) / (2 * block) * (2 * block); }
  constexpr Index out_features() const { return out; }
  constexpr Index in_features() const { return in; }
  constexpr Index blocks_per_row() const { return row_stride / block; }
  const std::int8_t* row(Index o) const { return q + o * row_stride; }
  const float* scales(Index o) const { return d + o * blocks_per_row(); }
  float at(Index o, Index i) const { return static_cast<float>(row(o)[i]) * scales(o)[i / block]; }
  /// out[i - i0] = at(o, i) for i in [i0, i0 + n), one scale per block.
  void dequantize(Index o, Index i0, Index n, float* out) const {
    const std::int8_t* q = row(o);
    const float* d = scales(o);
    for (Index i = i0; i < i0 + n;) {
      const Index end = std::min(i0 + n, (i / block + 1) * block);
      const float scale = d[i / block];
      for (; i < end; ++i) out[i - i0] = static_cast<float>(q[i]) * scale;
    }
  }
  /// Bytes of quantized values and scales for an [out, in] matrix.
  static constexpr std::size_t bytes(Index out, Index in) {
    const auto values = static_cast<std::size_t>(out * padded(in));
    return values + values / block * sizeof(float);
  }
};

/// Quantizes one block: d = amax / 127, q = round(x / d) half away from zero, computed as x * (1 / d) in f32
/// (bit for bit what llama.cpp's quantize_row_q8_0 computes, apart from keeping d in f32).
inline float quantize_block_q8(const float* x, Index n, std::int8_t* q) {
  float amax = 0.f;
  for (Index i = 0; i < n; ++i) amax = std::max(amax, std::abs(x[i]));
  const float d = amax / 127.f, id = d != 0.f ? 1.f / d : 0.f;
  for (Index i = 0; i < n; ++i) {  // std::lround (half away from zero) in a form the compiler vectorises
    const float v = x[i] * id, t = std::trunc(v);
    q[i] = static_cast<std::int8_t>(t + (std::abs(v - t) >= 0.5f ? std::copysign(1.f, v) : 0.f));
  }
  return d;
}

/// One row of n values quantized to Q8_0 blocks and zero-padded to `stride` (a multiple of 32): q [stride],
/// d [stride / 32]. Weights at load and activations in the int8 decode kernel use the same rounding.
inline void quantize_row_q8_0(const float* x, Index n, Index stride, std::int8_t* q, float* d) {
  for (Index i0 = 0; i0 < stride; i0 += Q8_0::block) {
    const Index len = std::clamp<Index>(n - i0, 0, Q8_0::block);
    d[i0 / Q8_0::block] = quantize_block_q8(x + i0, len, q + i0);
    for (Index i = len; i < Q8_0::block; ++i) q[i0 + i] = 0;
  }
}

/// Quantizes a Dense weight (either layout) to Q8_0 into `q` (out * padded(in) bytes) and `d` (out * padded(in) / 32
/// floats); returns the view. Any `in` works: the last block of a row is zero-padded.
template <StorageType T, weight_layout L>
Q8_0 quantize_q8_0(const Dense<T, L, host_space>& w, std::int8_t* q, float* d) {
  Q8_0 r;
  r.q = q, r.d = d, r.out = w.out_features(), r.in = w.in_features(), r.row_stride = Q8_0::padded(r.in);
  std::vector<float> row(static_cast<std::size_t>(r.in));
  for (Index o = 0; o < r.out; ++o) {
    for (Index i = 0; i < r.in; ++i) row[static_cast<std::size_t>(i)] = to_float(L == weight_layout::out_in ? w.m(o, i) : w.m(i, o));
    quantize_row_q8_0(row.data(), r.in, r.row_stride, q + o * r.row_stride, d + o * r.blocks_per_row());
  }
  return r;
}

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

/// What a model does with the matrices of its blocks and head: use them as stored (dense_weights), or quantize
/// them at load (q8_0_weights). `format<Src>` is the weight format for a matrix stored as Src (a Dense format).
struct dense_weights {
  static constexpr std::string_view name = "none";
  template <class Src>
  using format = Src;
};
struct q8_0_weights {
  static constexpr std::string_view name = "q8_0";
  template <class Src>
  using format = Q8_0;
};
template <class S>
concept WeightScheme = requires {
  { S::name } -> std::convertible_to<std::string_view>;
  typename S::template format<Dense<float>>;
};

/// A storage type T names Dense<T> ([out, in]); a format names itself. So Linear<bf16> is Linear<Dense<bf16>>.
template <class W>
using weight_format_t = typename detail::weight_format<W>::type;

namespace detail {
template <class W, class Space>
struct in_space {
  using type = W;  // formats without a space parameter (Q8_0) live in host memory
};
template <StorageType T, weight_layout L, class S, class Space>
struct in_space<Dense<T, L, S>, Space> {
  using type = Dense<T, L, Space>;
};
}  // namespace detail
/// Weight format W (a storage type or a format) with its matrix in memory space Space: what a layer of a policy
/// whose memory is Space holds. Linear<bf16, cuda::device<>> holds Dense<bf16, out_in, device_space>.
template <class W, class Space>
using weight_format_in = typename detail::in_space<weight_format_t<W>, Space>::type;

}  // namespace tfx
