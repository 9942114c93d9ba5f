// Attention module, Hugging Face Llama / Qwen2 / Qwen3 order of operations:
//   q, k, v = q_proj(x), k_proj(x), v_proj(x)            (bias optional per projection)
//   q, k    = rms_norm_per_head(q), rms_norm_per_head(k)  (Qwen3 only: one head_dim weight shared by all heads)
//   q, k    = rope(q, pos), rope(k, pos)                   (pos = start_pos + t)
//   cache  <- k, v                                         (the cache holds normed, rotated keys)
//   out     = o_proj(sdpa(q, cache, causal, window))
// MHA, GQA and MQA follow from the shapes (kv_heads == heads, divides heads, == 1).
// Causal (decoders) or bidirectional (encoders: BERT) from the configuration. An encoder runs a padded batch of
// sequences without a cache: each sequence attends to its own rows of the k / v projections, read in place
// (a token-major view), with the padding rows masked out as keys.
// CrossAttention: queries from the decoder, keys and values projected once from the encoder output.
#pragma once
#include <optional>
#include <span>

#include "tfx/core/error.hpp"
#include "tfx/core/spec.hpp"
#include "tfx/layers/concepts.hpp"
#include "tfx/layers/kv_cache.hpp"
#include "tfx/layers/linear.hpp"
#include "tfx/layers/rms_norm.hpp"
#include "tfx/layers/rotary_embedding.hpp"
#include "tfx/layers/scaled_dot_product_attention.hpp"

namespace tfx {

struct AttentionConfig {
  int hidden = 0;
  int heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  float rms_norm_eps = 1e-6f;  // q/k norm
  Index sliding_window = 0;    // 0: full attention
  std::optional<float> scale{};
  bool causal = true;          // false: every query sees every (unpadded) key of its sequence
};

/// Where the tokens of one forward pass sit (positions start .. start + T - 1) and what every layer derives from
/// that once: the rotary cos / sin table (null: each attention layer computes its own, or has no RoPE).
template <class Space = host_space>
struct BasicStep {
  Index start = 0;
  const BasicRopeTable<Space>* rope = nullptr;
  /// Only the last `keep` rows of the output are wanted (0: all): every row's keys and values still enter the
  /// cache, but attention, the output projection and what follows them run for those rows only (a prompt's last
  /// layer, when only the last position's logits are asked for).
  Index keep = 0;
};
using Step = BasicStep<host_space>;

/// A batch of sequences padded to one length, one after another in the rows of a [batch * length, hidden] input:
/// sequence b is rows b * length .. (b + 1) * length - 1, at positions 0 .. length - 1. key_padding (host memory,
/// [batch * length], nonzero = padding) hides the padding rows as keys; their own outputs are computed and
/// meaningless (Hugging Face's are too). A padded batch gives every real row what its sequence alone would give.
/// An additive mask (ALiBi-style biases, or -inf to hide chosen keys) applies to every sequence alike.
template <class Space = host_space>
struct BasicBatch {
  Index length = 0;
  std::span<const std::uint8_t> key_padding{};
  const BasicRopeTable<Space>* rope = nullptr;  // cos / sin of positions 0 .. length - 1, or null
  Rows<const float, Space> mask{};              // optional additive mask [length, length], the same for every sequence
};
using Batch = BasicBatch<host_space>;

namespace detail {
/// The SDPA options of an attention layer (the scale copied only when set: GCC 12 otherwise warns that a disengaged
/// optional's payload may be read).
inline SdpaOptions sdpa_options(const AttentionConfig& c, bool causal, Index window) {
  SdpaOptions o;
  o.heads = c.heads, o.kv_heads = c.kv_heads, o.head_dim = c.head_dim, o.causal = causal, o.sliding_window = window;
  if (c.scale) o.scale = *c.scale;
  return o;
}
/// Checks that the q, k, v and o projections of `w` fit the head layout of `c` (`who` names the layer).
template <class Wts>
void check_projections(const Wts& w, const AttentionConfig& c, const char* who) {
  const Index q_width = static_cast<Index>(c.heads) * c.head_dim, kv_width = static_cast<Index>(c.kv_heads) * c.head_dim;
  auto check = [&](const auto& l, Index out, Index in, const char* what) {
    TFX_CHECK(l.out_features() == out && l.in_features() == in, who, ": ", what, " is [", l.out_features(), ", ",
              l.in_features(), "], expected [", out, ", ", in, "]");
  };
  check(w.q_proj, q_width, c.hidden, "q_proj");
  check(w.k_proj, kv_width, c.hidden, "k_proj");
  check(w.v_proj, kv_width, c.hidden, "v_proj");
  check(w.o_proj, c.hidden, q_width, "o_proj");
}
/// Checks a batch against x's rows; returns the number of sequences.
inline Index batch_size(Index rows, Index length, std::size_t padding, const char* who) {
  TFX_CHECK(length > 0 && rows % length == 0, who, ": ", rows, " rows are not a whole number of sequences of ", length);
  TFX_CHECK(padding == 0 || static_cast<Index>(padding) == rows, who, ": key_padding has ", padding, " entries for ",
            rows, " rows");
  return rows / length;
}
/// Keys and values of rows [first, first + len) of token-major projections k, v ([T, kv_heads * head_dim]).
template <class Space>
BasicKvView<Space> token_major(Rows<const float, Space> k, Rows<const float, Space> v, Index first, Index len,
                               int kv_heads, int head_dim) {
  TFX_CHECK(k.ld == v.ld, "attention: keys and values have different row strides (", k.ld, ", ", v.ld, ")");
  BasicKvView<Space> view{k.data + first * k.ld, v.data + first * v.ld, len, head_dim, kv_heads, head_dim, dtype::f32};
  view.row_stride = k.ld;
  return view;
}
}  // namespace detail

template <class W = float, ExecutionPolicy P = cpu::simd<>, class Layout = rope::half_split>
class Attention {
 public:
  static constexpr std::string_view name = "attention";
  using policy = P;
  using space = space_t<P>;
  using Rope = RotaryEmbedding<Layout, P>;
  using Cache = BasicKvCache<space>;
  static_assert(PositionEncoding<Rope>, "Attention: the rotary embedding does not model tfx::PositionEncoding");
  struct Weights {
    Linear<W, P> q_proj, k_proj, v_proj, o_proj;
    Vector<const float, space> q_norm{}, k_norm{};  // both or neither
  };

  Attention() = default;
  /// rope may be null (absolute-position models); it must outlive the module.
  Attention(const AttentionConfig& c, const Weights& w, const Rope* rope)
      : c_(c), w_(w), rope_(rope),
        sdpa_(detail::sdpa_options(c, c.causal, c.sliding_window)) {
    detail::check_projections(w, c, "Attention");
    TFX_CHECK(w.q_norm.empty() == w.k_norm.empty(), "Attention: q_norm and k_norm must be given together");
    TFX_CHECK(w.q_norm.empty() || (static_cast<Index>(w.q_norm.size()) == c.head_dim &&
                                   static_cast<Index>(w.k_norm.size()) == c.head_dim),
              "Attention: q_norm / k_norm have ", w.q_norm.size(), " / ", w.k_norm.size(), " elements, expected head_dim ",
              c.head_dim);
    TFX_CHECK(!rope || rope->head_dim() == c.head_dim, "Attention: RoPE head_dim ", rope ? rope->head_dim() : 0,
              " differs from head_dim ", c.head_dim);
  }
  const AttentionConfig& config() const { return c_; }
  /// q, k, v, o projections (+ biases, + q/k norm weights) and the K/V values one position adds to the cache.
  static constexpr Counts counts(const ModelSpec& s) {
    const std::int64_t q = s.heads * s.head_dim, kv = s.kv_heads * s.head_dim;
    Counts c = Counts::dense(2 * s.hidden * q + 2 * s.hidden * kv);
    if (s.qkv_bias) c += Counts::elementwise(q + 2 * kv);
    if (s.o_bias) c += Counts::elementwise(s.hidden);
    if (s.qk_norm) c += Counts::elementwise(2 * s.head_dim);
    c.kv_values = 2 * kv;
    c.attention_width = q;
    return c;
  }

  /// x, out: [T, hidden]; the T positions are start_pos .. start_pos + T - 1 and are appended to `cache`,
  /// which must hold exactly start_pos positions.
  void forward(context_t<P>& ctx, Rows<const float, space> x, Index start_pos, Cache& cache, Rows<float, space> out) const {
    forward(ctx, x, BasicStep<space>{start_pos}, cache, out);
  }
  /// The same, with the forward pass's rotary table when the model made one; out has step.keep rows when it is set
  /// (the outputs of the last step.keep positions).
  void forward(context_t<P>& ctx, Rows<const float, space> x, const BasicStep<space>& step, Cache& cache,
               Rows<float, space> out) const {
    const Index T_ = x.rows, start_pos = step.start;
    TFX_CHECK(step.keep >= 0 && step.keep <= T_, "Attention: keep ", step.keep, " of ", T_, " rows");
    const Index kept = step.keep > 0 ? step.keep : T_;
    TFX_CHECK(x.cols == c_.hidden && out.cols == c_.hidden && out.rows == kept, "Attention: input [", x.rows, ", ",
              x.cols, "] / output [", out.rows, ", ", out.cols, "] do not match hidden ", c_.hidden, " and ", kept,
              " rows kept");
    TFX_CHECK(cache.size() == start_pos, "Attention: the KV cache holds ", cache.size(), " positions but start_pos is ",
              start_pos);
    ScratchScope scratch(ctx.scratch);
    const auto [q, k, v] = project(ctx, scratch, x);
    if (rope_) {
      const BasicRopeTable<space> table = step.rope ? *step.rope : rope_->table(ctx, scratch, start_pos, T_);
      rope_->apply(ctx, q, c_.heads, table);
      rope_->apply(ctx, k, c_.kv_heads, table);
    }
    cache.append(P{}, ctx, Rows<const float, space>(k), Rows<const float, space>(v));
    Rows<float, space> attn = scratch.rows(kept, q.cols);
    BasicSdpaExtras<space> extras;
    extras.q_offset = start_pos + T_ - kept;
    sdpa_.forward(ctx, q.slice_rows(T_ - kept, kept), cache.view(), attn, extras);
    w_.o_proj.forward(ctx, attn, out);
  }

  /// Without a cache: x, out: [batch * length, hidden], a padded batch of sequences (see BasicBatch), each at
  /// positions 0 .. length - 1, attending to its own keys (all of them, or the earlier ones if causal).
  void forward(context_t<P>& ctx, Rows<const float, space> x, const BasicBatch<space>& batch,
               Rows<float, space> out) const {
    TFX_CHECK(x.cols == c_.hidden && out.cols == c_.hidden && out.rows == x.rows, "Attention: input [", x.rows, ", ",
              x.cols, "] / output [", out.rows, ", ", out.cols, "] do not match hidden ", c_.hidden);
    const Index n = detail::batch_size(x.rows, batch.length, batch.key_padding.size(), "Attention"), L = batch.length;
    ScratchScope scratch(ctx.scratch);
    const auto [q, k, v] = project(ctx, scratch, x);
    if (rope_) {
      const BasicRopeTable<space> table = batch.rope ? *batch.rope : rope_->table(ctx, scratch, 0, L);
      for (Index b = 0; b < n; ++b) {
        rope_->apply(ctx, q.slice_rows(b * L, L), c_.heads, table);
        rope_->apply(ctx, k.slice_rows(b * L, L), c_.kv_heads, table);
      }
    }
    Rows<float, space> attn = scratch.rows(x.rows, q.cols);
    for (Index b = 0; b < n; ++b) {
      BasicSdpaExtras<space> extras;
      extras.q_offset = 0;
      extras.mask = batch.mask;
      if (!batch.key_padding.empty()) extras.key_padding = batch.key_padding.subspan(static_cast<std::size_t>(b * L), static_cast<std::size_t>(L));
      sdpa_.forward(ctx, q.slice_rows(b * L, L), detail::token_major<space>(k, v, b * L, L, c_.kv_heads, c_.head_dim),
                    attn.slice_rows(b * L, L), extras);
    }
    w_.o_proj.forward(ctx, attn, out);
  }

 private:
  struct Qkv {
    Rows<float, space> q, k, v;
  };
  /// q, k, v projections of x (+ the per-head q / k norms), in scratch memory.
  Qkv project(context_t<P>& ctx, ScratchScope<space>& scratch, Rows<const float, space> x) const {
    const Index T_ = x.rows, qw = static_cast<Index>(c_.heads) * c_.head_dim,
                kw = static_cast<Index>(c_.kv_heads) * c_.head_dim;
    Qkv r{scratch.rows(T_, qw), scratch.rows(T_, kw), scratch.rows(T_, kw)};
    forward_group(ctx, x, std::array{&w_.q_proj, &w_.k_proj, &w_.v_proj}, std::array{r.q, r.k, r.v});
    if (!w_.q_norm.empty()) {  // per head: view [T, heads*head_dim] as [T*heads, head_dim]
      RMSNorm<float, P> qn(w_.q_norm, c_.rms_norm_eps), kn(w_.k_norm, c_.rms_norm_eps);
      Rows<float, space> qh(r.q.data, T_ * c_.heads, c_.head_dim), kh(r.k.data, T_ * c_.kv_heads, c_.head_dim);
      qn.forward(ctx, qh, qh);
      kn.forward(ctx, kh, kh);
    }
    return r;
  }

 private:
  AttentionConfig c_{};
  Weights w_{};
  const Rope* rope_ = nullptr;
  ScaledDotProductAttention<P> sdpa_{};
};

}  // namespace tfx
