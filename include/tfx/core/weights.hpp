// Weight formats: how a matrix is stored, as a type. A Linear layer is parameterised by its weight format, and
// the kernels add one overload per (policy, format); so a new format (block-quantized int8/int4: values + scales)
// is a new struct here plus kernel overloads, and no layer changes.
//
//   Dense<T>                      [out, in]   PyTorch nn.Linear: y = x . W^T
//   Dense<T, weight_layout::in_out> [in, out] GPT-2 Conv1D:      y = x . W
//   Q8_0                          [out, in]   int8 blocks of 32 along `in`, one f32 scale per block
//   Q4_0                          [out, in]   4-bit blocks of 32 along `in`, one f16 scale per block
//
// A Dense weight is a view (it points into the mapped checkpoint); its row stride may exceed its width, so a
// fused tensor (GPT-2's c_attn holds q, k and v side by side) is used in place as three column slices.
#pragma once
#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <string_view>
#include <utility>
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

/// a + b with `a` already rounded to f32: a call the compiler may not inline, so the product that computed `a`
/// is not fused with the sum (GCC contracts a * x + b into one FMA across statements by default, which rounds once
/// instead of twice and moves values on a rounding boundary away from llama.cpp's and PyTorch's).
[[gnu::noinline]] inline float add_rounded(float a, float b) { return a + b; }

/// Block-quantized weights, [out, in] whatever the checkpoint's layout: w[o, i] = q[o, i] * d[o, i / 32], blocks
/// of 32 values along `in`, one scale each. `Code` says how a block's values and scale are stored (q8_0_code:
/// int8 values, f32 scale; q4_0_code: 4-bit values, f16 scale). Rows are padded with zero blocks to a multiple of
/// Code::group values, so a kernel may read whole groups. A view: the arrays are owned elsewhere (quantize_to
/// writes them into caller-provided memory).
template <class Code>
struct BlockQuant {
  using space = host_space;
  using code = Code;
  using value_type = typename Code::value_type;  // the stored unit of values: int8 (q8_0) or a byte of two nibbles
  using scale_type = typename Code::scale_type;  // float (q8_0) or f16 (q4_0)
  static constexpr Index block = 32;
  static constexpr std::string_view name = Code::name;
  const value_type* q = nullptr;  // [out][row_stride / Code::per_unit]
  const scale_type* d = nullptr;  // [out][row_stride / 32]
  Index out = 0, in = 0;
  Index row_stride = 0;  // values per row: in, rounded up to a multiple of Code::group

  static constexpr Index padded(Index in_features) { return (in_features + Code::group - 1) / Code::group * Code::group; }
  constexpr Index out_features() const { return out; }
  constexpr Index in_features() const { return in; }
  constexpr Index blocks_per_row() const { return row_stride / block; }
  constexpr Index units_per_row() const { return row_stride / Code::per_unit; }
  const value_type* row(Index o) const { return q + o * units_per_row(); }
  const scale_type* scales(Index o) const { return d + o * blocks_per_row(); }
  float scale(Index o, Index b) const { return to_float(scales(o)[b]); }
  /// Value i of row o as stored (int8, or the nibble - 8), and the weight it stands for.
  int value(Index o, Index i) const { return Code::value(row(o), i, row_stride); }
  float at(Index o, Index i) const { return static_cast<float>(value(o, i)) * scale(o, i / block); }
  /// out[i - i0] = at(o, i) for i in [i0, i0 + n), one scale per block.
  void dequantize(Index o, Index i0, Index n, float* out) const {
    std::int8_t v[block];
    for (Index b = i0 / block; b * block < i0 + n; ++b) {
      Code::unpack_block(row(o), b, row_stride, v);
      const float s = scale(o, b);
      for (Index i = std::max(i0, b * block); i < std::min(i0 + n, (b + 1) * block); ++i)
        out[i - i0] = static_cast<float>(v[i - b * block]) * s;
    }
  }
  /// Bytes of quantized values and scales for an [out, in] matrix.
  static constexpr std::size_t bytes(Index out, Index in) {
    const auto values = static_cast<std::size_t>(out * padded(in));
    return values / Code::per_unit * sizeof(value_type) + values / block * sizeof(scale_type);
  }
};

/// Quantizes one block to int8: d = amax / 127, q = round(x / d) half away from zero, computed as x * (1 / d) in
/// f32 (bit for bit what llama.cpp's quantize_row_q8_0 computes, apart from keeping d in f32).
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

/// int8 values in [-127, 127], an f32 scale per block (llama.cpp's Q8_0 with an f32 scale); rows padded to 64.
struct q8_0_code {
  static constexpr std::string_view name = "q8_0";
  using value_type = std::int8_t;
  using scale_type = float;
  static constexpr std::string_view values_dtype = "I8", scales_dtype = "F32";  // as stored in safetensors
  // per_unit: values per stored unit; group: rows are padded to a multiple of it.
  static constexpr Index per_unit = 1, group = 64;
  static int value(const std::int8_t* row, Index i, Index /*stride*/) { return row[i]; }
  static void unpack_block(const std::int8_t* row, Index b, Index /*stride*/, std::int8_t* out) {
    for (Index i = 0; i < 32; ++i) out[i] = row[b * 32 + i];
  }
  /// n values x quantized into `stride` (a multiple of 32) values q and stride / 32 scales d, zero-padded.
  static void quantize_row(const float* x, Index n, Index stride, std::int8_t* q, float* d) {
    for (Index i0 = 0; i0 < stride; i0 += 32) {
      const Index len = std::clamp<Index>(n - i0, 0, 32);
      d[i0 / 32] = quantize_block_q8(x + i0, len, q + i0);
      for (Index i = len; i < 32; ++i) q[i0 + i] = 0;
    }
  }
};

/// 4-bit values: llama.cpp's Q4_0 rounding (d = the value of largest magnitude / -8, q = min(15, trunc(x / d +
/// 8.5)), w = (q - 8) * d) with the scale stored as f16. The nibbles are laid out for the int8 kernels (q4_0 in
/// docs/models.md):
///  - a row's first (row_stride / 512) * 512 values are super-groups of 16 blocks in 256 bytes: byte
///    64 k + 4 j + t (k < 4, j < 16, t < 4) holds value 8 k + t of block j in its low nibble and value 8 k + 4 + t
///    in its high nibble, so each 64-byte load, masked with 0x0f or shifted right by 4, gives every block's next
///    4 values in the 32-bit lane of that block: eight vpdpbusd sum 16 whole blocks, one lane each;
///  - the rest (a multiple of 128 values) are groups of 4 blocks in 64 bytes: byte j holds value j in its low
///    nibble and value j + 64 in its high nibble.
struct q4_0_code {
  static constexpr std::string_view name = "q4_0";
  using value_type = std::uint8_t;
  using scale_type = f16;
  static constexpr std::string_view values_dtype = "U8", scales_dtype = "F16";  // as stored in safetensors
  static constexpr Index per_unit = 2, group = 128, super = 512;
  /// Where value i of a row of `stride` values lives: its byte, and whether it is the high nibble.
  static constexpr std::pair<Index, bool> place(Index i, Index stride) {
    const Index full = stride / super * super;
    if (i < full) {
      const Index j = i % super / 32, v = i % 32;
      return {i / super * (super / 2) + v / 8 * 64 + 4 * j + v % 4, v % 8 >= 4};
    }
    const Index r = i - full;
    return {full / 2 + r / 128 * 64 + r % 64, r % 128 >= 64};
  }
  static int value(const std::uint8_t* row, Index i, Index stride) {
    const auto [byte, high] = place(i, stride);
    return (high ? row[byte] >> 4 : row[byte] & 0x0f) - 8;
  }
  /// The 32 values of block b (nibble - 8), without a division per value.
  static void unpack_block(const std::uint8_t* row, Index b, Index stride, std::int8_t* out) {
    const auto v = [](int nibble) { return static_cast<std::int8_t>(nibble - 8); };
    const Index full = stride / super * super / 32;
    if (b < full) {  // 4 bytes in each of the super-group's 4 lines: values 8k..8k+3 low, 8k+4..8k+7 high
      const std::uint8_t* g = row + b / 16 * (super / 2) + 4 * (b % 16);
      for (Index k = 0; k < 4; ++k)
        for (Index t = 0; t < 4; ++t) out[8 * k + t] = v(g[64 * k + t] & 0x0f), out[8 * k + 4 + t] = v(g[64 * k + t] >> 4);
    } else {  // a group of 4 blocks in 64 bytes: blocks 0-1 low nibbles, 2-3 high
      const Index r = b - full;
      const std::uint8_t* g = row + full * 16 + r / 4 * 64 + (r % 2) * 32;
      const int shift = r % 4 < 2 ? 0 : 4;
      for (Index i = 0; i < 32; ++i) out[i] = v((g[i] >> shift) & 0x0f);
    }
  }
  static void quantize_row(const float* x, Index n, Index stride, std::uint8_t* q, f16* d) {
    std::fill(q, q + stride / 2, std::uint8_t{0});
    for (Index b = 0; b < stride / 32; ++b) {
      const Index len = std::clamp<Index>(n - b * 32, 0, 32);
      float amax = 0.f, max = 0.f;
      for (Index i = 0; i < len; ++i)
        if (std::abs(x[b * 32 + i]) > amax) amax = std::abs(x[b * 32 + i]), max = x[b * 32 + i];
      const float s = max / -8.f, id = s != 0.f ? 1.f / s : 0.f;
      d[b] = to_f16(s);
      for (Index i = 0; i < 32; ++i) {  // min(15, trunc(v + 8.5)), with NaN (from NaN or inf weights) as 0
        const float t = add_rounded(i < len ? x[b * 32 + i] * id : 0.f, 8.5f);
        const int nib = t >= 15.f ? 15 : t > 0.f ? static_cast<int>(t) : 0;
        const auto [byte, high] = place(b * 32 + i, stride);
        q[byte] = static_cast<std::uint8_t>(q[byte] | (nib << (high ? 4 : 0)));
      }
    }
  }
};

using Q8_0 = BlockQuant<q8_0_code>;
using Q4_0 = BlockQuant<q4_0_code>;

template <class W>
inline constexpr bool is_block_quantized = false;
template <class Code>
inline constexpr bool is_block_quantized<BlockQuant<Code>> = true;
/// A block-quantized weight format (Q8_0, Q4_0).
template <class W>
concept BlockQuantized = is_block_quantized<W>;

/// One row of n values quantized to blocks of Q and zero-padded to `stride` (Q8_0: a multiple of 32; Q4_0:
/// Q4_0::padded of the row): q [stride / per_unit], d [stride / 32]. Q8_0 weights at load and activations in the
/// int8 kernels use the same rounding.
template <BlockQuantized Q>
void quantize_row(const float* x, Index n, Index stride, typename Q::value_type* q, typename Q::scale_type* d) {
  Q::code::quantize_row(x, n, stride, q, d);
}
inline void quantize_row_q8_0(const float* x, Index n, Index stride, std::int8_t* q, float* d) {
  quantize_row<Q8_0>(x, n, stride, q, d);
}

/// Quantizes a Dense weight (either layout) to Q into `q` (Q::bytes' values) and `d` (out * padded(in) / 32
/// scales); returns the view. Any `in` works: the last group of a row is zero-padded.
template <BlockQuantized Q, StorageType T, weight_layout L>
Q quantize_to(const Dense<T, L, host_space>& w, typename Q::value_type* q, typename Q::scale_type* d) {
  Q r;
  r.q = q, r.d = d, r.out = w.out_features(), r.in = w.in_features(), r.row_stride = Q::padded(r.in);
  std::vector<float> row(static_cast<std::size_t>(r.in));
  for (Index o = 0; o < r.out; ++o) {
    for (Index i = 0; i < r.in; ++i) row[static_cast<std::size_t>(i)] = to_float(L == weight_layout::out_in ? w.m(o, i) : w.m(i, o));
    quantize_row<Q>(row.data(), r.in, r.row_stride, q + o * r.units_per_row(), d + o * r.blocks_per_row());
  }
  return r;
}
template <StorageType T, weight_layout L>
Q8_0 quantize_q8_0(const Dense<T, L, host_space>& w, std::int8_t* q, float* d) {
  return quantize_to<Q8_0>(w, q, d);
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
/// them at load (q8_0_weights, q4_0_weights). `format<Src>` is the weight format for a matrix stored as Src (a Dense format).
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
struct q4_0_weights {
  static constexpr std::string_view name = "q4_0";
  template <class Src>
  using format = Q4_0;
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
  using type = W;  // formats without a space parameter (Q8_0, Q4_0) live in host memory
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
