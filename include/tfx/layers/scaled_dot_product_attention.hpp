// ScaledDotProductAttention: out = softmax(scale q.k^T + mask) v with grouped-query head mapping
// (query head h reads kv head h / (heads / kv_heads), as HF repeat_kv and SDPA enable_gqa).
// Causal masking is on absolute positions: query row i sits at q_offset + i and sees key j iff j <= q_offset + i
// (bottom-right alignment, correct with a KV cache). Sliding window W: also j > pos - W (W keys including self).
#pragma once
#include <cmath>
#include <optional>
#include <span>

#include "tfx/core/error.hpp"
#include "tfx/layers/concepts.hpp"

namespace tfx {

struct SdpaOptions {
  int heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  std::optional<float> scale{};  // default 1/sqrt(head_dim)
  bool causal = true;
  Index sliding_window = 0;  // 0: none
};

/// Optional per-call inputs and inspection outputs.
template <class Space = host_space>
struct BasicSdpaExtras {
  std::optional<Index> q_offset{};             // default kv_len - q_len
  Rows<const float, Space> mask{};             // additive [q_len, kv_len]
  std::span<const std::uint8_t> key_padding{};  // [kv_len], nonzero = padding
  std::span<const float> alibi_slopes{};       // [heads]
  float* weights = nullptr;                    // out [heads, q_len, kv_len]
  float* entropy = nullptr;                    // out [heads, q_len]
};
using SdpaExtras = BasicSdpaExtras<host_space>;

template <ExecutionPolicy P = cpu::simd<>>
class ScaledDotProductAttention {
 public:
  static constexpr std::string_view name = "scaled_dot_product_attention";
  using policy = P;
  using space = space_t<P>;
  ScaledDotProductAttention() = default;
  explicit ScaledDotProductAttention(const SdpaOptions& o) : o_(o) {
    TFX_CHECK(o.heads > 0 && o.kv_heads > 0 && o.head_dim > 0, "SDPA: heads (", o.heads, "), kv_heads (", o.kv_heads,
              ") and head_dim (", o.head_dim, ") must be positive");
    TFX_CHECK(o.heads % o.kv_heads == 0, "SDPA: heads (", o.heads, ") must be a multiple of kv_heads (", o.kv_heads, ")");
    TFX_CHECK(o.sliding_window >= 0, "SDPA: sliding_window must be >= 0, got ", o.sliding_window);
    TFX_CHECK(!o.scale || std::isfinite(*o.scale), "SDPA: scale must be finite");
  }
  const SdpaOptions& options() const { return o_; }
  float scale() const { return o_.scale ? *o_.scale : 1.f / std::sqrt(static_cast<float>(o_.head_dim)); }

  /// q, out: [q_len, heads * head_dim]; kv: kv_len keys and values.
  void forward(context_t<P>& ctx, Rows<const float, space> q, const BasicKvView<space>& kv, Rows<float, space> out,
               const BasicSdpaExtras<space>& x = {}) const {
    const Index width = static_cast<Index>(o_.heads) * o_.head_dim;
    TFX_CHECK(q.cols == width && out.cols == width && out.rows == q.rows, "SDPA: q [", q.rows, ", ", q.cols, "] / out [",
              out.rows, ", ", out.cols, "] do not match heads x head_dim = ", width);
    TFX_CHECK(kv.kv_heads == o_.kv_heads && kv.head_dim == o_.head_dim, "SDPA: keys have ", kv.kv_heads, " heads of ",
              kv.head_dim, ", expected ", o_.kv_heads, " of ", o_.head_dim);
    TFX_CHECK(kv.len >= 0 && (kv.len == 0 || (kv.k != nullptr && kv.v != nullptr)), "SDPA: key/value view of ",
              kv.len, " positions has no data");
    // Heads must not overlap: head-major (a cache) or token-major (projections read in place).
    const Index rs = kv.stride();
    TFX_CHECK(rs >= kv.head_dim && (kv.head_stride >= kv.len * rs ||
                                    (kv.head_stride >= kv.head_dim && rs >= kv.kv_heads * kv.head_stride)),
              "SDPA: key/value view with head stride ", kv.head_stride, " and row stride ", rs, " overlaps its ",
              kv.kv_heads, " heads of ", kv.len, " x ", kv.head_dim);
    const Index offset = x.q_offset ? *x.q_offset : kv.len - q.rows;
    TFX_CHECK(offset >= 0, "SDPA: query offset ", offset, " is negative (q_len ", q.rows, " > kv_len ", kv.len, ")");
    TFX_CHECK(x.mask.empty() || (x.mask.rows == q.rows && x.mask.cols == kv.len), "SDPA: mask is [", x.mask.rows, ", ",
              x.mask.cols, "], expected [", q.rows, ", ", kv.len, "]");
    TFX_CHECK(x.key_padding.empty() || static_cast<Index>(x.key_padding.size()) == kv.len, "SDPA: key_padding has ",
              x.key_padding.size(), " entries for ", kv.len, " keys");
    TFX_CHECK(x.alibi_slopes.empty() || static_cast<int>(x.alibi_slopes.size()) == o_.heads, "SDPA: ",
              x.alibi_slopes.size(), " ALiBi slopes for ", o_.heads, " heads");
    BasicSdpaArgs<space> a;
    a.q = q;
    a.kv = kv;
    a.out = out;
    a.heads = o_.heads;
    a.scale = scale();
    a.causal = o_.causal;
    a.q_offset = offset;
    a.window = o_.sliding_window;
    a.mask = x.mask;
    a.key_padding = x.key_padding;
    a.alibi_slopes = x.alibi_slopes;
    a.weights = x.weights;
    a.entropy = x.entropy;
    kernels::sdpa(P{}, ctx, a);
  }

 private:
  SdpaOptions o_{};
};

}  // namespace tfx
