// CrossAttention (encoder-decoder attention, Hugging Face Marian / BART / T5 order of operations):
//   k, v = k_proj(memory), v_proj(memory)      once per source sequence (project_memory), kept for the whole generation
//   q    = q_proj(x)                           decoder states, one or many positions
//   out  = o_proj(sdpa(q, k, v))               bidirectional over the source, its padding masked out
// The same Linear and ScaledDotProductAttention (and so the same kernels) as self-attention; K and V are read in
// place from the token-major projections.
#pragma once
#include <span>

#include "tfx/layers/attention.hpp"

namespace tfx {

template <class W = float, ExecutionPolicy P = cpu::simd<>>
class CrossAttention {
 public:
  static constexpr std::string_view name = "cross_attention";
  using policy = P;
  using space = space_t<P>;
  struct Weights {
    Linear<W, P> q_proj, k_proj, v_proj, o_proj;
  };
  /// The encoder output's keys and values ([source_len, kv_heads * head_dim] each) and its padding.
  struct Memory {
    Rows<const float, space> k{}, v{};
    std::span<const std::uint8_t> key_padding{};  // [source_len], nonzero = padding; empty: none
  };

  CrossAttention() = default;
  /// c.causal, c.sliding_window and the q/k norm eps are not used: every query sees the whole source.
  CrossAttention(const AttentionConfig& c, const Weights& w)
      : c_(c), w_(w), sdpa_(detail::sdpa_options(c, false, 0)) {
    detail::check_projections(w, c, "CrossAttention");
  }
  const AttentionConfig& config() const { return c_; }
  /// Self-attention's projections and biases; no q/k norm, and nothing per position (the memory is per source).
  static constexpr Counts counts(const ModelSpec& s) {
    ModelSpec plain = s;
    plain.qk_norm = false;
    Counts c = Attention<W, P>::counts(plain);
    c.kv_values = 0;
    return c;
  }

  /// memory: [source_len, hidden] encoder output; k, v: [source_len, kv_heads * head_dim] each.
  void project_memory(context_t<P>& ctx, Rows<const float, space> memory, Rows<float, space> k,
                      Rows<float, space> v) const {
    const Index kw = static_cast<Index>(c_.kv_heads) * c_.head_dim;
    TFX_CHECK(memory.cols == c_.hidden && k.rows == memory.rows && v.rows == memory.rows && k.cols == kw && v.cols == kw,
              "CrossAttention: memory [", memory.rows, ", ", memory.cols, "] / k [", k.rows, ", ", k.cols, "] / v [",
              v.rows, ", ", v.cols, "] do not match hidden ", c_.hidden, " and kv width ", kw);
    forward_group(ctx, memory, std::array{&w_.k_proj, &w_.v_proj}, std::array{k, v});
  }

  /// x, out: [T, hidden] decoder states; mem: the projections of one source sequence (project_memory).
  void forward(context_t<P>& ctx, Rows<const float, space> x, const Memory& mem, Rows<float, space> out) const {
    const Index qw = static_cast<Index>(c_.heads) * c_.head_dim, kw = static_cast<Index>(c_.kv_heads) * c_.head_dim;
    TFX_CHECK(x.cols == c_.hidden && out.cols == c_.hidden && out.rows == x.rows, "CrossAttention: input [", x.rows,
              ", ", x.cols, "] / output [", out.rows, ", ", out.cols, "] do not match hidden ", c_.hidden);
    TFX_CHECK(mem.k.cols == kw && mem.v.cols == kw && mem.k.rows == mem.v.rows && mem.k.rows > 0,
              "CrossAttention: memory keys [", mem.k.rows, ", ", mem.k.cols, "] / values [", mem.v.rows, ", ",
              mem.v.cols, "] do not match kv width ", kw);
    ScratchScope scratch(ctx.scratch);
    Rows<float, space> q = scratch.rows(x.rows, qw), attn = scratch.rows(x.rows, qw);
    w_.q_proj.forward(ctx, x, q);
    BasicSdpaExtras<space> extras;
    extras.q_offset = 0;
    extras.key_padding = mem.key_padding;
    sdpa_.forward(ctx, q, detail::token_major<space>(mem.k, mem.v, 0, mem.k.rows, c_.kv_heads, c_.head_dim), attn,
                  extras);
    w_.o_proj.forward(ctx, attn, out);
  }

 private:
  AttentionConfig c_{};
  Weights w_{};
  ScaledDotProductAttention<P> sdpa_{};
};

}  // namespace tfx
