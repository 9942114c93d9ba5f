// Argument types shared by the kernel dispatchers and every backend.
#pragma once
#include <cstdint>
#include <span>

#include "tfx/core/dtype.hpp"
#include "tfx/core/view.hpp"

namespace tfx {

/// Element-wise activations, with PyTorch's definitions.
enum class activation {
  silu,       // x * sigmoid(x)
  gelu_erf,   // 0.5 x (1 + erf(x / sqrt 2))                         nn.GELU()
  gelu_tanh,  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))      nn.GELU(approximate='tanh')
  relu,       // max(x, 0)
};

/// The two rotary layouts. They are not interchangeable: a checkpoint is trained with one.
enum class rope_layout {
  half_split,   // Hugging Face rotate_half / GPT-NeoX: dim j pairs with j + d/2
  interleaved,  // Meta reference / GPT-J / llama2.c: dim 2j pairs with 2j + 1
};

/// One product of a group that reads the same input: y = x . W^T + bias (W a tfx::WeightFormat).
template <class W, class Space = host_space>
struct LinearPart {
  const W* w = nullptr;
  Vector<const float, Space> bias{};
  Rows<float, Space> y{};
};

/// Rotary cos / sin for the rows of one call: [T, rotary_dim / 2] each, already scaled by attention_scaling.
/// Row t belongs to the t-th position; one table serves q and k of every layer of a forward pass.
template <class Space = host_space>
struct BasicRopeTable {
  Rows<const float, Space> cos{}, sin{};
};
using RopeTable = BasicRopeTable<host_space>;

/// Keys and values of one layer: element (h, j, d) of K is k[h * head_stride + j * stride() + d].
/// A KV cache is kv-head-major (head_stride = capacity * head_dim, row stride head_dim); the projections of a
/// sequence read in place are token-major (head_stride = head_dim, row stride = the row length of the projection,
/// kv_heads * head_dim or more).
template <class Space = host_space>
struct BasicKvView {
  using space = Space;
  const void* k = nullptr;  // elements of `type`
  const void* v = nullptr;
  Index len = 0;          // number of valid key positions
  Index head_stride = 0;  // elements between consecutive kv heads (capacity * head_dim in a cache)
  int kv_heads = 0;
  int head_dim = 0;
  dtype type = dtype::f32;  // f32, bf16 or f16 (KvCache's storage type)
  Index row_stride = 0;     // elements between consecutive positions of one head; 0: head_dim

  /// Elements between consecutive key (and value) positions of one head.
  Index stride() const { return row_stride > 0 ? row_stride : head_dim; }
  /// Keys / values of kv head g, [len, head_dim] with row stride stride(), as T (which must be `type`).
  template <class T>
  const T* keys(Index g) const {
    return static_cast<const T*>(k) + g * head_stride;
  }
  template <class T>
  const T* values(Index g) const {
    return static_cast<const T*>(v) + g * head_stride;
  }
};

using KvView = BasicKvView<host_space>;

/// Where kv_append writes: rows t of k and v go to positions pos + t of a kv-head-major cache.
template <class Space = host_space>
struct KvSlots {
  void* k = nullptr;
  void* v = nullptr;
  Index pos = 0;
  Index head_stride = 0;
  int kv_heads = 0;
  int head_dim = 0;
  dtype type = dtype::f32;
};

/// Calls f(T{}) with the storage type named by t (float, bf16 or f16).
template <class F>
decltype(auto) with_storage_type(dtype t, F&& f) {
  if (t == dtype::bf16) return f(bf16{});
  if (t == dtype::f16) return f(f16{});
  return f(float{});
}

/// Scaled dot-product attention over one sequence. Query row i sits at absolute position q_offset + i and
/// may see key j iff (!causal || j <= pos) && (window == 0 || j > pos - window) && !key_padding[j].
template <class Space = host_space>
struct BasicSdpaArgs {
  Rows<const float, Space> q;                  // [q_len, heads * head_dim]
  BasicKvView<Space> kv;                       // kv.len keys
  Rows<float, Space> out;                      // [q_len, heads * head_dim]
  int heads = 0;
  float scale = 0;                             // multiplies q.k
  bool causal = true;
  Index q_offset = 0;                          // absolute position of query row 0 (past length)
  Index window = 0;                            // sliding window W (W keys including self); 0: none
  Rows<const float, Space> mask{};             // optional additive mask [q_len, kv.len], shared by heads
  std::span<const std::uint8_t> key_padding{};  // optional [kv.len]; nonzero = padding, never attended
  std::span<const float> alibi_slopes{};       // optional [heads]; adds slope_h * (j - pos)
  float* weights = nullptr;                    // optional out [heads, q_len, kv.len]
  float* entropy = nullptr;                    // optional out [heads, q_len], natural log
};
using SdpaArgs = BasicSdpaArgs<host_space>;

}  // namespace tfx
