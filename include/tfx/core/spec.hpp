// ModelSpec: what a decoder is, family-independently, as read from its configuration: dimensions, which optional
// parameters exist (biases, q/k norm, learned positions) and the mixture-of-experts layout. Layers count their own
// parameters and FLOPs from it (static functions, no weights needed), and a model type sums them, so `tfx info`
// and static shapes give the right counts for every family, MoE included (total and active).
#pragma once
#include <cstdint>
#include <vector>

namespace tfx {

struct ModelSpec {
  std::int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0;
  std::int64_t intermediate = 0;  // dense MLP width
  bool tied = false;              // lm_head is the embedding matrix
  bool qk_norm = false;           // per-head q/k RMSNorm weights (Qwen3)
  bool qkv_bias = false, o_bias = false, mlp_bias = false;
  bool norm_bias = false;           // LayerNorm with a bias (GPT-2)
  std::int64_t position_table = 0;  // rows of a learned position table (GPT-2 n_positions); 0: none
  std::int64_t type_vocab = 0;      // rows of a token-type (segment) table (BERT type_vocab_size); 0: none
  std::int64_t decoder_layers = 0;  // an encoder-decoder's decoder blocks (`layers` counts its encoder's)
  // Mixture of experts (Qwen3-MoE): which layers are sparse, and their shape.
  std::int64_t experts = 0, experts_per_tok = 0, moe_intermediate = 0;
  std::vector<std::uint8_t> sparse_layers{};  // empty, or one flag per layer

  constexpr bool sparse(std::int64_t layer) const {
    return !sparse_layers.empty() && sparse_layers[static_cast<std::size_t>(layer)] != 0;
  }
};

/// What a layer (or a model) holds and costs per token.
struct Counts {
  std::int64_t parameters = 0;  // every weight counted once (a tied head is the embedding)
  std::int64_t active = 0;      // parameters one token multiplies with or reads (MoE: only the selected experts)
  std::int64_t matmul = 0;      // active parameters that take part in matrix products (2 FLOPs each per token)
  std::int64_t kv_values = 0;   // K and V values one position adds to the cache (times the cache dtype's size: bytes)
  std::int64_t attention_width = 0;  // sum over layers of heads * head_dim (for the context-dependent FLOPs)

  constexpr Counts& operator+=(const Counts& o) {
    parameters += o.parameters, active += o.active, matmul += o.matmul, kv_values += o.kv_values;
    attention_width += o.attention_width;
    return *this;
  }
  /// Bytes one position adds to a KV cache that stores `bytes_per_value` bytes a value (4 for f32, 2 for bf16/f16).
  constexpr std::int64_t kv_bytes(std::int64_t bytes_per_value) const { return kv_values * bytes_per_value; }
  /// Forward FLOPs for one token attending `context` earlier positions: 2 per multiply-add.
  constexpr std::int64_t flops_per_token(std::int64_t context = 0) const {
    return 2 * matmul + 4 * attention_width * (context + 1);
  }
  /// A layer of `n` parameters all used in matrix products.
  static constexpr Counts dense(std::int64_t n) { return {n, n, n, 0, 0}; }
  /// A layer of `n` parameters used element-wise (norms, biases, lookups).
  static constexpr Counts elementwise(std::int64_t n) { return {n, n, 0, 0, 0}; }
};

}  // namespace tfx
